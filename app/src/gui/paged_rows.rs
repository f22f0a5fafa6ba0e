//! Tables over millions of rows: only the rows on screen are laid out
//! (`ScrollArea::show_rows`), and only a window of rows around them is fetched from the
//! store, through the query cache, as the user scrolls. Rows not fetched yet show as
//! placeholders.

use std::ops::Range;

/// Rows fetched per window.
pub const WINDOW: u64 = 200;

/// The window to fetch so that `visible` is covered: aligned to half a window, so that
/// scrolling a little does not refetch.
pub fn window_for(visible: &Range<usize>) -> (u64, u64) {
    let half = WINDOW / 2;
    let offset = (visible.start as u64 / half).saturating_sub(1) * half;
    (offset, WINDOW)
}

/// A fetched window of rows and where it starts.
pub struct Window<'a, T> {
    /// Index of the first row.
    pub offset: u64,
    /// The rows.
    pub rows: &'a [T],
}

impl<T> Window<'_, T> {
    /// Row `i` of the whole table, if fetched.
    pub fn get(&self, i: usize) -> Option<&T> {
        let i = (i as u64).checked_sub(self.offset)?;
        self.rows.get(i as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_what_is_visible_and_move_in_half_steps() {
        assert_eq!(window_for(&(0..30)), (0, WINDOW));
        assert_eq!(window_for(&(120..150)), (0, WINDOW));
        assert_eq!(window_for(&(250..280)), (100, WINDOW));
        let (o, n) = window_for(&(5_000..5_040));
        assert!(o <= 5_000 && o + n >= 5_040);
    }
}
