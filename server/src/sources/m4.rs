//! M4 downsampling (Jugel et al., "M4: A Visualization-Oriented Time Series Data
//! Aggregation", VLDB 2014): per pixel column keep the first, last, minimum and maximum
//! point. A line chart drawn from these is pixel-identical to one drawn from every point,
//! with at most 4 points per column.

/// Downsamples `points` (time-ordered `(t, v)`; `t` in seconds) for a chart `width` pixels
/// wide spanning `[start, end]`. Returns the indices of the points to keep, in order.
pub fn m4_indices(points: &[(f64, f64)], start: f64, end: f64, width: usize) -> Vec<usize> {
    if width == 0 || points.len() <= 4 * width || end <= start {
        return (0..points.len()).collect();
    }
    let span = end - start;
    m4_by(points, |t| {
        (((t - start) / span) * width as f64)
            .floor()
            .clamp(0.0, width as f64 - 1.0) as i64
    })
}

/// M4 with the caller's pixel mapping: `column` gives a point's pixel column (a chart
/// passes its own coordinate mapping, so the kept points light exactly the same pixels).
/// Returns the indices kept — per run of equal columns the first, minimum, maximum and
/// last point — in time order.
pub fn m4_by(points: &[(f64, f64)], column: impl Fn(f64) -> i64) -> Vec<usize> {
    let mut keep = Vec::new();
    let mut i = 0;
    while i < points.len() {
        let col = column(points[i].0);
        let first = i;
        let (mut min_i, mut max_i, mut last) = (i, i, i);
        while i < points.len() && column(points[i].0) == col {
            let v = points[i].1;
            if v < points[min_i].1 || points[min_i].1.is_nan() {
                min_i = i;
            }
            if v > points[max_i].1 || points[max_i].1.is_nan() {
                max_i = i;
            }
            last = i;
            i += 1;
        }
        let mut group = [first, min_i, max_i, last];
        group.sort_unstable();
        for (k, idx) in group.iter().enumerate() {
            if k == 0 || group[k - 1] != *idx {
                keep.push(*idx);
            }
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_first_last_min_max_per_column() {
        // 100 points over 10 px: each column holds 10 points.
        let points: Vec<(f64, f64)> = (0..100)
            .map(|i| (i as f64, ((i * 37) % 17) as f64))
            .collect();
        let kept = m4_indices(&points, 0.0, 100.0, 10);
        assert!(kept.len() <= 40);
        for col in 0..10 {
            let in_col: Vec<usize> = (col * 10..col * 10 + 10).collect();
            let vals: Vec<f64> = in_col.iter().map(|&i| points[i].1).collect();
            let min = vals.iter().cloned().fold(f64::INFINITY, f64::min);
            let max = vals.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let kept_here: Vec<usize> = kept
                .iter()
                .copied()
                .filter(|i| in_col.contains(i))
                .collect();
            assert!(kept_here.contains(&in_col[0]) && kept_here.contains(&in_col[9]));
            assert!(kept_here.iter().any(|&i| points[i].1 == min));
            assert!(kept_here.iter().any(|&i| points[i].1 == max));
        }
        assert!(kept.windows(2).all(|w| w[0] < w[1]), "time order kept");
    }

    #[test]
    fn small_series_are_untouched() {
        let points = vec![(0.0, 1.0), (1.0, 2.0)];
        assert_eq!(m4_indices(&points, 0.0, 1.0, 100), vec![0, 1]);
    }
}
