//! The optional bearer token both transports require when `--token` is given.

use std::sync::Arc;

/// The token clients must send as `Authorization: Bearer TOKEN`; none means open.
#[derive(Clone, Default)]
pub struct Token(Option<Arc<str>>);

impl Token {
    /// A token requirement, or none.
    pub fn new(token: Option<String>) -> Self {
        Token(token.map(Into::into))
    }

    /// Whether an `Authorization` header value is allowed in.
    pub fn allows(&self, header: Option<&str>) -> bool {
        match (&self.0, header) {
            (None, _) => true,
            (Some(want), Some(got)) => {
                let got = got
                    .strip_prefix("Bearer ")
                    .or_else(|| got.strip_prefix("bearer "))
                    .unwrap_or("");
                constant_time_eq(got.as_bytes(), want.as_bytes())
            }
            (Some(_), None) => false,
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
