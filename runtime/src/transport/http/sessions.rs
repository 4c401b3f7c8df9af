//! Legacy (2025-11-25) sessions, bounded: past the cap a new session is
//! refused with 503 and `Retry-After` instead of rmcp's 500.

use super::*;

/// Legacy sessions with a hard cap on how many exist at once.
pub(super) struct BoundedSessions {
    pub(super) inner: LocalSessionManager,
    pub(super) max: usize,
    /// How long an idle session lives: when a place frees up at the latest.
    pub(super) idle: Duration,
}

impl BoundedSessions {
    pub(super) async fn full(&self) -> bool {
        self.inner.sessions.read().await.len() >= self.max
    }
}

#[derive(Debug)]
pub(super) enum SessionLimitError {
    Full(usize),
    Inner(LocalSessionManagerError),
}

impl std::fmt::Display for SessionLimitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionLimitError::Full(max) => write!(f, "too many sessions (limit {max}); retry later"),
            SessionLimitError::Inner(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for SessionLimitError {}

impl From<LocalSessionManagerError> for SessionLimitError {
    fn from(e: LocalSessionManagerError) -> Self {
        SessionLimitError::Inner(e)
    }
}

impl SessionManager for BoundedSessions {
    type Error = SessionLimitError;
    type Transport = <LocalSessionManager as SessionManager>::Transport;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        if self.full().await {
            return Err(SessionLimitError::Full(self.max));
        }
        Ok(self.inner.create_session().await?)
    }
    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<ServerJsonRpcMessage, Self::Error> {
        Ok(self.inner.initialize_session(id, message).await?)
    }
    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        Ok(self.inner.has_session(id).await?)
    }
    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        Ok(self.inner.close_session(id).await?)
    }
    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        Ok(self.inner.create_stream(id, message).await?)
    }
    async fn accept_message(&self, id: &SessionId, message: ClientJsonRpcMessage) -> Result<(), Self::Error> {
        Ok(self.inner.accept_message(id, message).await?)
    }
    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        Ok(self.inner.create_standalone_stream(id).await?)
    }
    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        Ok(self.inner.resume(id, last_event_id).await?)
    }
}
