//! What outlives one request: results held for their caller (read back by
//! link, in pages). Every entry is keyed by its owner, so another caller's id
//! is the same "not found" as an unknown one.

pub mod results;
