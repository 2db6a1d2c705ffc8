//! What a fresh-index adapter is filling during a rebuild: set by
//! `FreshIndexes::create`, taken by `installed` or `abandoned`, shared by
//! the tantivy and PostgreSQL adapters.

/// What a `FreshIndexes` adapter is filling: set by `create`, taken by
/// `installed` or `abandoned`.
#[derive(Debug)]
pub(crate) struct Building<T>(std::sync::Mutex<Option<T>>);

impl<T> Default for Building<T> {
    fn default() -> Self {
        Building(std::sync::Mutex::new(None))
    }
}

impl<T> Building<T> {
    pub(crate) fn started(&self, fresh: T) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(fresh);
    }

    /// What was being built, if anything; nothing is being built afterwards.
    pub(crate) fn finished(&self) -> Option<T> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}
