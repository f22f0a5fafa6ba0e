//! Prompt and response messages from each convention's shape of them; the store's
//! [`store::conversation`] renders them as the text it keeps.

use super::attrs::{Attrs, value_text};
use opentelemetry_proto::tonic::common::v1::AnyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AV;
use opentelemetry_proto::tonic::trace::v1::span::Event;
use serde_json::Value;
pub(crate) use store::conversation::{Message, render, render_with_roles};

/// Messages from a JSON value in any of the shapes conventions use: an array of
/// messages with `content` (string or parts) or `parts`; an object with `messages`
/// (a request body) or `choices` (a chat completion) or `content`/`text`.
pub(crate) fn from_json(v: &Value) -> Vec<Message> {
    match v {
        Value::Array(items) => items.iter().flat_map(message_from_json).collect(),
        Value::Object(o) => {
            if let Some(m) = o.get("messages") {
                return from_json(m);
            }
            if let Some(Value::Array(choices)) = o.get("choices") {
                return choices
                    .iter()
                    .flat_map(|c| match c.get("message") {
                        Some(m) => message_from_json(m),
                        None => c
                            .get("text")
                            .and_then(Value::as_str)
                            .map(|t| Message {
                                role: String::new(),
                                content: t.into(),
                            })
                            .into_iter()
                            .collect(),
                    })
                    .collect();
            }
            if let Some(Value::Array(content)) = o.get("content") {
                // Anthropic-style response body.
                return vec![Message {
                    role: str_field(o, "role"),
                    content: parts_text(content),
                }];
            }
            message_from_json(v)
        }
        Value::String(s) => vec![Message {
            role: String::new(),
            content: s.clone(),
        }],
        _ => Vec::new(),
    }
}

fn str_field(o: &serde_json::Map<String, Value>, key: &str) -> String {
    o.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn message_from_json(v: &Value) -> Vec<Message> {
    let Value::Object(o) = v else {
        return v
            .as_str()
            .map(|s| Message {
                role: String::new(),
                content: s.into(),
            })
            .into_iter()
            .collect();
    };
    let role = str_field(o, "role");
    let mut content = match o.get("content").or_else(|| o.get("parts")) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts_text(parts),
        Some(other) if !other.is_null() => other.to_string(),
        _ => o
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
    };
    if let Some(Value::Array(calls)) = o.get("tool_calls") {
        for call in calls {
            let f = call.get("function").unwrap_or(call);
            let name = f.get("name").and_then(Value::as_str).unwrap_or("tool");
            let args = match f.get("arguments") {
                Some(Value::String(s)) => s.clone(),
                Some(a) => a.to_string(),
                None => String::new(),
            };
            push_line(&mut content, &format!("{name}({args})"));
        }
    }
    vec![Message { role, content }]
}

/// Text of content parts: text parts as they are, tool calls as `name(arguments)`,
/// tool results as their content, other parts by type.
fn parts_text(parts: &[Value]) -> String {
    let mut out = String::new();
    for p in parts {
        let line = match p {
            Value::String(s) => s.clone(),
            Value::Object(o) => {
                let kind = o.get("type").and_then(Value::as_str).unwrap_or("text");
                match kind {
                    "tool_call" | "tool_use" | "function_call" => {
                        let name = o.get("name").and_then(Value::as_str).unwrap_or("tool");
                        let args = o
                            .get("arguments")
                            .or_else(|| o.get("input"))
                            .map(|a| match a {
                                Value::String(s) => s.clone(),
                                other => other.to_string(),
                            });
                        format!("{name}({})", args.unwrap_or_default())
                    }
                    _ => match o
                        .get("content")
                        .or_else(|| o.get("text"))
                        .or_else(|| o.get("response"))
                        .or_else(|| o.get("result"))
                    {
                        Some(Value::String(s)) => s.clone(),
                        Some(other) => other.to_string(),
                        None => format!("[{kind}]"),
                    },
                }
            }
            other => other.to_string(),
        };
        push_line(&mut out, &line);
    }
    out
}

fn push_line(out: &mut String, line: &str) {
    if line.is_empty() {
        return;
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(line);
}

/// An attribute holding messages either as a JSON string or as structured values.
pub(crate) fn from_attr(v: &AnyValue) -> Vec<Message> {
    match v.value.as_ref() {
        Some(AV::StringValue(s)) => match serde_json::from_str::<Value>(s) {
            Ok(json) => from_json(&json),
            Err(_) => vec![Message {
                role: String::new(),
                content: s.clone(),
            }],
        },
        Some(_) => from_json(&any_to_json(v)),
        None => Vec::new(),
    }
}

/// A structured `AnyValue` as a JSON value.
pub(crate) fn any_to_json(v: &AnyValue) -> Value {
    let mut s = String::new();
    super::attrs::write_value(&mut s, v);
    serde_json::from_str(&s).unwrap_or(Value::Null)
}

/// Flattened messages: `PREFIX.N.FIELD` keys (`gen_ai.prompt.0.role`), where the
/// content field is `content` (GenAI) or `message.content` (OpenInference), with
/// multimodal parts and tool calls flattened below it.
pub(crate) fn from_flattened(attrs: &Attrs, prefix: &str, field_prefix: &str) -> Vec<Message> {
    let mut messages: Vec<(usize, Message)> = Vec::new();
    // A tool call's arguments sort before its name (`…function.arguments` <
    // `…function.name`): kept until the name comes.
    let mut arguments: Option<String> = None;
    for (index, field, value) in attrs.indexed(prefix) {
        let Some(field) = field.strip_prefix(field_prefix) else {
            continue;
        };
        if messages.last().map(|(i, _)| *i) != Some(index) {
            messages.push((index, Message::default()));
        }
        let m = &mut messages.last_mut().expect("pushed").1;
        let text = value_text(value).unwrap_or_default();
        if field == "role" {
            m.role = text;
        } else if field == "content" || (field.starts_with("contents.") && field.ends_with(".text"))
        {
            push_line(&mut m.content, &text);
        } else if field.starts_with("tool_calls.")
            && (field.ends_with(".name") || field.ends_with("function.name"))
        {
            let args = arguments.take().unwrap_or_default();
            push_line(&mut m.content, &format!("{text}({args})"));
        } else if field.starts_with("tool_calls.") && field.ends_with("arguments") {
            if m.content.ends_with("()") {
                m.content.truncate(m.content.len() - 1);
                m.content.push_str(&text);
                m.content.push(')');
            } else {
                arguments = Some(text);
            }
        }
    }
    messages.into_iter().map(|(_, m)| m).collect()
}

/// Prompt and response messages carried by span events: `gen_ai.{system,user,
/// assistant,tool}.message` and `gen_ai.choice` (content in attributes or a body), and
/// the older `gen_ai.content.prompt` / `gen_ai.content.completion` events.
pub(crate) fn from_events(events: &[Event]) -> (Vec<Message>, Vec<Message>) {
    let mut prompt = Vec::new();
    let mut response = Vec::new();
    for e in events {
        let attrs = Attrs::new(&e.attributes);
        let role = match e.name.as_str() {
            "gen_ai.system.message" => "system",
            "gen_ai.user.message" => "user",
            "gen_ai.assistant.message" => "assistant",
            "gen_ai.tool.message" => "tool",
            "gen_ai.choice" => {
                let content = attrs
                    .get("message")
                    .map(from_attr)
                    .and_then(|m| m.into_iter().next())
                    .map(|m| m.content)
                    .or_else(|| attrs.text(&["content", "message.content", "gen_ai.completion"]))
                    .unwrap_or_default();
                response.push(Message {
                    role: "assistant".into(),
                    content,
                });
                continue;
            }
            "gen_ai.content.prompt" => {
                if let Some(v) = attrs.get("gen_ai.prompt") {
                    prompt.extend(from_attr(v));
                }
                continue;
            }
            "gen_ai.content.completion" => {
                if let Some(v) = attrs.get("gen_ai.completion") {
                    response.extend(from_attr(v));
                }
                continue;
            }
            _ => continue,
        };
        let content = attrs
            .text(&["content", "gen_ai.event.content", "body"])
            .unwrap_or_default();
        prompt.push(Message {
            role: attrs.text(&["role"]).unwrap_or_else(|| role.to_string()),
            content,
        });
    }
    (prompt, response)
}
