//! Keyset pagination shared by every listing: rows are ordered by `(time desc, id desc)` and a
//! cursor is the last row's `(time, id)`, so a page never repeats or skips a row when rows are
//! inserted meanwhile (an offset would shift). Cursors are opaque to clients (hex text).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::AdminError;

/// The largest page a caller may ask for.
pub const MAX_PAGE: usize = 500;

/// A position in a `(time desc, id desc)` ordering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub at: DateTime<Utc>,
    pub id: Uuid,
}

impl Cursor {
    pub fn encode(&self) -> String {
        hex::encode(format!(
            "{}:{}",
            self.at.timestamp_micros(),
            self.id.simple()
        ))
    }

    pub fn decode(text: &str) -> Result<Self, AdminError> {
        let bad = || AdminError::bad_input("invalid cursor");
        let raw = String::from_utf8(hex::decode(text).map_err(|_| bad())?).map_err(|_| bad())?;
        let (micros, id) = raw.split_once(':').ok_or_else(bad)?;
        let at =
            DateTime::from_timestamp_micros(micros.parse().map_err(|_| bad())?).ok_or_else(bad)?;
        Ok(Self {
            at,
            id: Uuid::parse_str(id).map_err(|_| bad())?,
        })
    }
}

/// Which page: at most `first` rows after `after`.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub first: usize,
    pub after: Option<Cursor>,
}

impl Page {
    /// Checks `first` (1..=500) and decodes `after`.
    pub fn new(first: i64, after: Option<&str>) -> Result<Self, AdminError> {
        if !(1..=MAX_PAGE as i64).contains(&first) {
            return Err(AdminError::bad_input(format!(
                "first must be between 1 and {MAX_PAGE}"
            )));
        }
        Ok(Self {
            first: first as usize,
            after: after.map(Cursor::decode).transpose()?,
        })
    }

    pub fn first(first: usize) -> Self {
        Self {
            first: first.clamp(1, MAX_PAGE),
            after: None,
        }
    }

    /// The cursor's parts as query parameters (null when on the first page).
    pub fn after_parts(&self) -> (Option<DateTime<Utc>>, Option<Uuid>) {
        (self.after.map(|c| c.at), self.after.map(|c| c.id))
    }

    /// One row more than the page is fetched to learn whether another page follows.
    pub fn fetch_limit(&self) -> i64 {
        self.first as i64 + 1
    }
}

/// One page of rows, each with its cursor.
#[derive(Debug, Clone)]
pub struct Paged<T> {
    pub items: Vec<(Cursor, T)>,
    pub has_next_page: bool,
}

impl<T> Paged<T> {
    /// Cuts `rows` (fetched with [`Page::fetch_limit`]) to the page.
    pub fn from_rows(page: &Page, mut rows: Vec<T>, key: impl Fn(&T) -> Cursor) -> Self {
        let has_next_page = rows.len() > page.first;
        rows.truncate(page.first);
        Self {
            items: rows.into_iter().map(|r| (key(&r), r)).collect(),
            has_next_page,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_bad_ones_are_bad_input() {
        let c = Cursor {
            at: DateTime::from_timestamp_micros(1_764_000_000_123_456).unwrap(),
            id: Uuid::now_v7(),
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        assert!(matches!(Cursor::decode("zz"), Err(AdminError::BadInput(_))));
        assert!(matches!(Page::new(0, None), Err(AdminError::BadInput(_))));
        assert!(matches!(Page::new(501, None), Err(AdminError::BadInput(_))));
        assert_eq!(Page::new(500, None).unwrap().fetch_limit(), 501);
    }
}
