//! The conversation of an LLM call as the store keeps it: the prompt and the response
//! are text in which each message is a `role: content` paragraph and each tool call a
//! `name({json arguments})` line — readable as is in exports, searchable, and stored
//! once. Ingest writes it with [`render`]; readers get the messages back, typed, with
//! [`parse`] and [`Message::lines`]. This one module owns both directions, so the
//! writer and the readers cannot drift apart.

/// The content of a prompt's latest user message: what the call answered (a session's
/// opening message, a turn's question).
pub fn latest_user_message(prompt: &str) -> Option<String> {
    parse(prompt, "user")
        .into_iter()
        .rev()
        .find(|m| m.role == "user")
        .map(|m| m.content)
}

/// One message of a prompt or response.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Message {
    /// `system`, `user`, `assistant`, `tool`… (empty when the convention did not say).
    pub role: String,
    /// The text, tool calls as `name({json})` lines.
    pub content: String,
}

/// A line of a message: text, or a tool call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line<'a> {
    /// Plain text.
    Text(&'a str),
    /// A call of tool `name`, its arguments pretty-printed JSON.
    ToolCall {
        /// The tool's name.
        name: &'a str,
        /// The arguments, pretty-printed.
        arguments: String,
    },
}

/// The roles [`parse`] recognizes at the start of a paragraph (a paragraph that starts
/// with another word and a colon is text, not a new message).
pub const ROLES: [&str; 7] = [
    "system",
    "developer",
    "user",
    "assistant",
    "tool",
    "function",
    "model",
];

/// Renders messages as stored text; a lone assistant (or role-less) message is just
/// its content. `None` when no message has content.
pub fn render(messages: &[Message]) -> Option<String> {
    let messages: Vec<&Message> = messages.iter().filter(|m| !m.content.is_empty()).collect();
    match messages.as_slice() {
        [] => None,
        [only] if only.role.is_empty() || only.role == "assistant" => Some(only.content.clone()),
        many => Some(join(many.iter().copied())),
    }
}

/// Renders messages each with its role, for pieces of a prompt that are joined later
/// (GenAI events arriving one message at a time).
pub fn render_with_roles(messages: &[Message]) -> Option<String> {
    let with_content: Vec<&Message> = messages.iter().filter(|m| !m.content.is_empty()).collect();
    (!with_content.is_empty()).then(|| join(with_content.into_iter()))
}

fn join<'a>(messages: impl Iterator<Item = &'a Message>) -> String {
    messages
        .map(|m| {
            if m.role.is_empty() {
                m.content.clone()
            } else {
                format!("{}: {}", m.role, m.content)
            }
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The messages of stored text; text without roles is one message of `default_role`
/// (`user` for a prompt, `assistant` for a response).
pub fn parse(text: &str, default_role: &str) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::new();
    for paragraph in text.split("\n\n") {
        let role = paragraph
            .split_once(": ")
            .map(|(r, _)| r)
            .filter(|r| ROLES.contains(r));
        match (role, out.last_mut()) {
            (Some(r), _) => out.push(Message {
                role: r.to_string(),
                content: paragraph[r.len() + 2..].to_string(),
            }),
            (None, Some(last)) => {
                last.content.push_str("\n\n");
                last.content.push_str(paragraph);
            }
            (None, None) => out.push(Message {
                role: default_role.to_string(),
                content: paragraph.to_string(),
            }),
        }
    }
    out
}

impl Message {
    /// Its lines, tool calls recognized.
    pub fn lines(&self) -> impl Iterator<Item = Line<'_>> {
        self.content
            .split('\n')
            .map(|line| tool_call(line).unwrap_or(Line::Text(line)))
    }
}

/// `name({json})`, with the JSON pretty-printed.
fn tool_call(line: &str) -> Option<Line<'_>> {
    let open = line.find('(')?;
    let name = &line[..open];
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.' || c == '-')
        || !line.ends_with(')')
    {
        return None;
    }
    let json: serde_json::Value = serde_json::from_str(&line[open + 1..line.len() - 1]).ok()?;
    Some(Line::ToolCall {
        name,
        arguments: serde_json::to_string_pretty(&json).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(role: &str, content: &str) -> Message {
        Message {
            role: role.into(),
            content: content.into(),
        }
    }

    #[test]
    fn rendered_messages_parse_back_with_their_roles_and_tool_calls() {
        let messages = vec![
            message("system", "be brief"),
            message("user", "hi\nthere\n\nsecond paragraph"),
            message("assistant", "get_weather({\"city\":\"Paris\"})"),
        ];
        let text = render(&messages).unwrap();
        assert_eq!(parse(&text, "user"), messages);
        let lines: Vec<Line<'_>> = messages[2].lines().collect();
        assert_eq!(
            lines,
            [Line::ToolCall {
                name: "get_weather",
                arguments: "{\n  \"city\": \"Paris\"\n}".into()
            }]
        );
        assert_eq!(
            messages[1].lines().next(),
            Some(Line::Text("hi")),
            "text stays text"
        );
    }

    #[test]
    fn a_lone_answer_is_its_text_and_reads_back_as_the_default_role() {
        let text = render(&[message("assistant", "plain answer")]).unwrap();
        assert_eq!(text, "plain answer");
        assert_eq!(
            parse(&text, "assistant"),
            [message("assistant", "plain answer")]
        );
        assert_eq!(render(&[message("user", "")]), None);
        // A paragraph starting with another word and a colon is not a new message.
        assert_eq!(
            parse("user: see below\n\nNote: this is text", "user"),
            [message("user", "see below\n\nNote: this is text")]
        );
    }
}
