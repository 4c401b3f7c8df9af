//! The bound on tool calls in flight, in all and per caller: a slot per
//! call, held until its answer is sent.

use super::*;

/// The bound on tool calls in flight, in all and per caller.
#[derive(Debug)]
pub(super) struct CallSlots {
    pub(super) max: usize,
    pub(super) per_caller: usize,
    pub(super) in_flight: std::sync::Mutex<InFlight>,
}

#[derive(Debug, Default)]
pub(super) struct InFlight {
    pub(super) total: usize,
    pub(super) by_caller: std::collections::HashMap<String, usize>,
}

/// A tool call's place among those in flight, given back when dropped.
#[derive(Debug)]
pub(super) struct CallSlot {
    pub(super) slots: Arc<CallSlots>,
    pub(super) caller: String,
}

impl CallSlots {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, InFlight> {
        self.in_flight.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A slot for `caller`'s call, or who is at their bound.
    pub(super) fn take(self: &Arc<Self>, caller: &str) -> Result<CallSlot, Busy> {
        let mut in_flight = self.lock();
        if in_flight.total >= self.max {
            return Err(Busy::Server { max: self.max });
        }
        let mine = in_flight.by_caller.get(caller).copied().unwrap_or(0);
        if mine >= self.per_caller {
            return Err(Busy::Caller { held: mine });
        }
        in_flight.total += 1;
        in_flight.by_caller.insert(caller.to_string(), mine + 1);
        Ok(CallSlot {
            slots: self.clone(),
            caller: caller.to_string(),
        })
    }
}

impl Drop for CallSlot {
    fn drop(&mut self) {
        let mut in_flight = self.slots.lock();
        in_flight.total = in_flight.total.saturating_sub(1);
        if let Some(mine) = in_flight.by_caller.get_mut(&self.caller) {
            *mine = mine.saturating_sub(1);
            if *mine == 0 {
                in_flight.by_caller.remove(&self.caller);
            }
        }
    }
}

/// A response body that holds its call's slot until it is sent or dropped
/// (a session's answer may stream after the handler returns).
pub(super) struct Holding {
    pub(super) body: axum::body::Body,
    pub(super) _slot: CallSlot,
}

impl http_body::Body for Holding {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// Who is at their bound of calls in flight (the text is the tool error's).
#[derive(Debug, thiserror::Error)]
pub(super) enum Busy {
    #[error("this server has {max} tool calls in flight, its limit")]
    Server { max: usize },
    #[error("this client has {held} tool calls in flight, the most it may have at once")]
    Caller { held: usize },
}
