use super::*;
use serde_json::json;

#[test]
fn a_collapsed_rows_panels_are_laid_out_under_it_and_push_the_rest_down() {
    // As Grafana saves it: rows at y 0, 1, 2; the first row's panels kept inside it with
    // the places they had when it was last open (y = 732 and 740).
    let grafana = json!({"title": "Rows", "schemaVersion": 39, "panels": [
        {"id": 1, "type": "row", "title": "Collapsed", "collapsed": true, "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1},
         "panels": [
            {"id": 2, "type": "timeseries", "title": "A", "gridPos": {"x": 0, "y": 732, "w": 12, "h": 8}, "targets": [{"expr": "up"}]},
            {"id": 3, "type": "timeseries", "title": "B", "gridPos": {"x": 12, "y": 732, "w": 12, "h": 8}, "targets": [{"expr": "up"}]},
            {"id": 4, "type": "stat", "title": "C", "gridPos": {"x": 0, "y": 740, "w": 6, "h": 4}, "targets": [{"expr": "up"}]}
         ]},
        {"id": 5, "type": "row", "title": "Open", "collapsed": false, "gridPos": {"x": 0, "y": 1, "w": 24, "h": 1}, "panels": []},
        {"id": 6, "type": "timeseries", "title": "D", "gridPos": {"x": 0, "y": 2, "w": 24, "h": 8}, "targets": [{"expr": "up"}]}
    ]});
    let c = convert(&grafana).unwrap();
    let at = |title: &str| {
        let p = c
            .dashboard
            .panels
            .iter()
            .find(|p| p.title == title)
            .unwrap();
        (p.grid.x, p.grid.y, p.grid.w, p.grid.h)
    };
    assert_eq!(at("Collapsed"), (0, 0, 24, 1));
    assert_eq!(at("A"), (0, 1, 12, 8));
    assert_eq!(at("B"), (12, 1, 12, 8));
    assert_eq!(at("C"), (0, 9, 6, 4));
    // The next row starts below the collapsed row's panels, and its panel below it.
    assert_eq!(at("Open"), (0, 13, 24, 1));
    assert_eq!(at("D"), (0, 14, 24, 8));
    let collapsed = c
        .dashboard
        .panels
        .iter()
        .find(|p| p.title == "Collapsed")
        .unwrap();
    assert!(collapsed.collapsed);
}

#[test]
fn hostile_places_and_unplaced_row_panels_are_laid_out_without_overflow() {
    let grafana = json!({"title": "Odd", "panels": [
        {"id": 1, "type": "row", "title": "R", "collapsed": true, "gridPos": {"x": 0, "y": u64::MAX, "w": 24, "h": u64::MAX},
         "panels": [
            {"id": 2, "type": "stat", "title": "Placed", "gridPos": {"x": 0, "y": u64::MAX, "w": 6, "h": u64::MAX}, "targets": [{"expr": "up"}]},
            {"id": 3, "type": "stat", "title": "Loose 1", "targets": [{"expr": "up"}]},
            {"id": 4, "type": "stat", "title": "Loose 2", "targets": [{"expr": "up"}]}
         ]},
        {"id": 5, "type": "row", "title": "No place", "collapsed": true,
         "panels": [{"id": 6, "type": "stat", "title": "Inside", "targets": [{"expr": "up"}]}]}
    ]});
    let c = convert(&grafana).unwrap();
    let titles: Vec<&str> = c
        .dashboard
        .panels
        .iter()
        .map(|p| p.title.as_str())
        .collect();
    for t in ["R", "Placed", "Loose 1", "Loose 2", "No place", "Inside"] {
        assert!(titles.contains(&t), "{t} is kept: {titles:?}");
    }
    let grid = |t: &str| {
        c.dashboard
            .panels
            .iter()
            .find(|p| p.title == t)
            .unwrap()
            .grid
            .clone()
    };
    let (placed, one, two) = (grid("Placed"), grid("Loose 1"), grid("Loose 2"));
    assert_eq!((one.y, two.y), (placed.y + placed.h, placed.y + placed.h));
    assert_eq!((one.x, two.x), (0, 12));
}
