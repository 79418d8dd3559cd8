//! Panel placement on the 24-column dashboard grid, as the editor's drag and keyboard
//! moves change it: pure functions, so the rules are tested without a browser.

use crate::dashboards::model::Grid;

/// Columns of the dashboard grid.
pub const COLUMNS: u32 = 24;
/// Tallest panel, in grid rows.
pub const MAX_HEIGHT: u32 = 100;

/// What a pointer drag changes: the panel's place, or its size (the corner handle).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DragMode {
    Move,
    Resize,
}

/// `start` moved or resized by whole cells (`dx` columns, `dy` rows), kept on the grid:
/// inside the 24 columns, at least one cell, never above the top.
pub fn dragged(start: &Grid, mode: DragMode, dx: i64, dy: i64) -> Grid {
    let clamp = |v: i64, lo: i64, hi: i64| v.clamp(lo, hi.max(lo)) as u32;
    let (x, y, w, h) = (
        i64::from(start.x),
        i64::from(start.y),
        i64::from(start.w),
        i64::from(start.h),
    );
    let cols = i64::from(COLUMNS);
    match mode {
        DragMode::Move => Grid {
            x: clamp(x + dx, 0, cols - w),
            y: clamp(y + dy, 0, i64::MAX),
            w: start.w,
            h: start.h,
        },
        DragMode::Resize => Grid {
            x: start.x,
            y: start.y,
            w: clamp(w + dx, 1, cols - x),
            h: clamp(h + dy, 1, i64::from(MAX_HEIGHT)),
        },
    }
}

fn overlaps(a: &Grid, b: &Grid) -> bool {
    a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h
}

/// After panel `fixed` was placed, pushes every panel it covers down below it, and so on
/// for the panels those land on (as Grafana does): no two panels overlap afterwards, and
/// `fixed` keeps the place it was given.
pub fn settle(grids: &mut [Grid], fixed: usize) {
    let mut placed = vec![fixed];
    // Each round pushes at least one panel strictly lower; a panel never rises, so this
    // ends: every push moves a panel below one that is already settled.
    while let Some(i) = placed.pop() {
        let anchor = grids[i].clone();
        for (j, g) in grids.iter_mut().enumerate() {
            if j != i && j != fixed && overlaps(&anchor, g) {
                g.y = anchor.y + anchor.h;
                placed.push(j);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(x: u32, y: u32, w: u32, h: u32) -> Grid {
        Grid { x, y, w, h }
    }

    #[test]
    fn moves_stay_inside_the_columns_and_below_the_top() {
        assert_eq!(
            dragged(&g(10, 4, 12, 8), DragMode::Move, 5, -2),
            g(12, 2, 12, 8)
        );
        assert_eq!(
            dragged(&g(10, 4, 12, 8), DragMode::Move, -20, -9),
            g(0, 0, 12, 8)
        );
        assert_eq!(
            dragged(&g(0, 0, 24, 8), DragMode::Move, 3, 1),
            g(0, 1, 24, 8)
        );
    }

    #[test]
    fn resizes_keep_at_least_one_cell_and_the_right_edge() {
        assert_eq!(
            dragged(&g(20, 0, 2, 4), DragMode::Resize, 9, 2),
            g(20, 0, 4, 6)
        );
        assert_eq!(
            dragged(&g(0, 0, 6, 4), DragMode::Resize, -10, -10),
            g(0, 0, 1, 1)
        );
        assert_eq!(
            dragged(&g(0, 0, 6, 4), DragMode::Resize, 0, 500).h,
            MAX_HEIGHT
        );
    }

    #[test]
    fn settling_pushes_covered_panels_down_in_a_cascade() {
        // Panel 0 dropped onto panel 1; panel 1 then lands on panel 2.
        let mut grids = vec![
            g(0, 0, 12, 8),
            g(0, 4, 12, 8),
            g(0, 12, 24, 4),
            g(12, 0, 12, 4),
        ];
        settle(&mut grids, 0);
        assert_eq!(grids[0], g(0, 0, 12, 8));
        assert_eq!(grids[1], g(0, 8, 12, 8));
        assert_eq!(grids[2], g(0, 16, 24, 4));
        assert_eq!(grids[3], g(12, 0, 12, 4), "a panel beside it stays");
        for a in 0..grids.len() {
            for b in a + 1..grids.len() {
                assert!(!overlaps(&grids[a], &grids[b]), "{a} and {b} overlap");
            }
        }
    }
}
