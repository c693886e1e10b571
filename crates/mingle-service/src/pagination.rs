//! Keyset pages. Services fetch one row more than asked to learn whether another page
//! exists, so a page that ends the list carries no next position.

use mingle_core::cursor::Position;
use mingle_store::models::PageQuery;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 100;

/// One page of a list and, when rows remain, the position to continue after.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Position>,
}

/// A page request as the caller gave it.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub after: Option<Position>,
    pub limit: u32,
}

impl PageRequest {
    /// The store query: one row beyond the limit.
    pub(crate) fn probe(&self) -> PageQuery {
        PageQuery { after: self.after.clone(), limit: self.limit + 1 }
    }

    /// Cuts the probe's rows to the page and derives the next position from the last
    /// row served.
    pub(crate) fn finish<T>(&self, mut rows: Vec<T>, position: impl Fn(&T) -> Position) -> Page<T> {
        let more = rows.len() > self.limit as usize;
        rows.truncate(self.limit as usize);
        let next = if more { rows.last().map(position) } else { None };
        Page { items: rows, next }
    }
}
