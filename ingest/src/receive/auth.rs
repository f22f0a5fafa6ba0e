//! The optional bearer token both transports require when `--token` is given.

use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The token clients must send as `Authorization: Bearer TOKEN`; none means open.
#[derive(Clone, Default)]
pub struct Token(Option<Arc<str>>);

/// A token that would not protect anything.
#[derive(Debug, thiserror::Error)]
#[error(
    "the token is empty: an empty token would let anyone in; give a token, or leave --token and LLM_OBSERVATORY_TOKEN unset"
)]
pub struct EmptyToken;

impl Token {
    /// A token requirement, or none; an empty (or blank) token is refused.
    pub fn new(token: Option<String>) -> Result<Self, EmptyToken> {
        match token {
            Some(t) if t.trim().is_empty() => Err(EmptyToken),
            t => Ok(Token(t.map(Into::into))),
        }
    }

    /// Whether an `Authorization` header value is allowed in: with a token, only
    /// `Bearer TOKEN` (the scheme in any case), compared in constant time.
    pub fn allows(&self, header: Option<&str>) -> bool {
        let Some(want) = &self.0 else {
            return true;
        };
        let Some((scheme, got)) = header.and_then(|h| h.split_once(' ')) else {
            return false;
        };
        scheme.eq_ignore_ascii_case("bearer") && bool::from(got.as_bytes().ct_eq(want.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bearer_token_is_let_in() {
        let t = Token::new(Some("s3cret".into())).unwrap();
        assert!(t.allows(Some("Bearer s3cret")));
        assert!(t.allows(Some("bearer s3cret")));
        for bad in [
            None,
            Some(""),
            Some("s3cret"),
            Some("Basic s3cret"),
            Some("Bearer "),
            Some("Bearer s3cre"),
            Some("Bearer s3cret "),
            Some("Bearers3cret"),
        ] {
            assert!(!t.allows(bad), "{bad:?} was let in");
        }
        assert!(Token::new(None).unwrap().allows(None));
    }

    #[test]
    fn an_empty_or_blank_token_is_refused() {
        assert!(Token::new(Some(String::new())).is_err());
        assert!(Token::new(Some("  ".into())).is_err());
    }
}
