//! What a [`BusError`](super::BusError) says went wrong: a message, and the
//! adapter's own error underneath when there is one, kept as the source so a
//! log shows the whole chain. Cheap to clone (one error may answer several
//! waiting callers); two causes are equal when their messages are.

use std::fmt;
use std::sync::Arc;

/// A bus failure's description, with the failure underneath if any.
#[derive(Debug, Clone)]
pub struct BusCause {
    message: String,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl BusCause {
    /// `source` stopped the bus while it was doing `context`.
    pub fn new(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        BusCause {
            message: context.into(),
            source: Some(Arc::new(source)),
        }
    }
}

impl From<String> for BusCause {
    fn from(message: String) -> Self {
        BusCause {
            message,
            source: None,
        }
    }
}

impl From<&str> for BusCause {
    fn from(message: &str) -> Self {
        BusCause::from(message.to_owned())
    }
}

impl fmt::Display for BusCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(source) => write!(f, "{}: {source}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for BusCause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}

impl PartialEq for BusCause {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for BusCause {}
