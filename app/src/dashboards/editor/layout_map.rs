//! The layout map: panels as boxes on the 24-column grid, moved and resized by dragging.

use leptos::prelude::*;
use wire::dashboard::{Dashboard, Grid, PanelKind};

use super::settle_panels;
use crate::dashboards::grid_layout::{dragged, DragMode, COLUMNS};

/// Grid rows on the layout map, in pixels.
const MAP_ROW_PX: f64 = 8.0;

/// The panels as boxes on the 24-column grid: drag a box to move its panel, drag its corner
/// to resize it (whole cells). Dropping pushes the panels it covers down. The arrow keys in
/// the panel editor do the same without a mouse.
#[component]
pub(super) fn LayoutMap(
    doc: RwSignal<Option<Dashboard>>,
    selected: RwSignal<Option<usize>>,
) -> impl IntoView {
    let map = NodeRef::<leptos::html::Div>::new();
    // The drag under way: panel, mode, pointer start, grid at the start.
    let drag = StoredValue::new(None::<(usize, DragMode, i32, i32, Grid)>);
    let start = move |ev: leptos::ev::PointerEvent, i: usize, mode: DragMode| {
        ev.prevent_default();
        ev.stop_propagation();
        let Some(g) = grid_at(doc, i) else {
            return;
        };
        drag.set_value(Some((i, mode, ev.client_x(), ev.client_y(), g)));
    };
    let on_move = move |ev: leptos::ev::PointerEvent| {
        let Some((i, mode, x0, y0, g)) = drag.get_value() else {
            return;
        };
        let width = map
            .get_untracked()
            .map(|m| m.client_width())
            .unwrap_or(0)
            .max(1);
        let col = f64::from(width) / f64::from(COLUMNS);
        let dx = (f64::from(ev.client_x() - x0) / col).round() as i64;
        let dy = (f64::from(ev.client_y() - y0) / MAP_ROW_PX).round() as i64;
        let next = dragged(&g, mode, dx, dy);
        if grid_at(doc, i).as_ref() != Some(&next) {
            doc.update(|d| {
                if let Some(p) = d.as_mut().and_then(|d| d.panels.get_mut(i)) {
                    p.grid = next;
                }
            });
        }
    };
    let end = move |_| {
        let Some((i, ..)) = drag.get_value() else {
            return;
        };
        drag.set_value(None);
        // Picked when the drag ends, not when it starts: opening the panel editor changes
        // the page's height, which must not move the map under a pointer mid-drag.
        // Only a different panel rebuilds the panel editor.
        if selected.get_untracked() != Some(i) {
            selected.set(Some(i));
        }
        doc.update(|d| {
            if let Some(d) = d.as_mut() {
                settle_panels(&mut d.panels, i);
            }
        });
    };
    let boxes = move || {
        doc.get()
            .map(|d| d.panels)
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let g = &p.grid;
                let cols = f64::from(COLUMNS);
                let style = format!(
                    "left:{:.4}%;width:{:.4}%;top:{}px;height:{}px",
                    f64::from(g.x) / cols * 100.0,
                    f64::from(g.w) / cols * 100.0,
                    f64::from(g.y) * MAP_ROW_PX,
                    f64::from(g.h) * MAP_ROW_PX,
                );
                let title = p.title;
                let hint = format!("{title}: drag to move, drag the corner to resize");
                view! {
                    <div class="layout-box" class:row-box=p.kind == PanelKind::Row style=style data-index=i.to_string()
                        class:selected=move || selected.get() == Some(i)
                        title=hint
                        on:pointerdown=move |ev| start(ev, i, DragMode::Move)>
                        <span>{title}</span>
                        <span class="layout-resize" aria-hidden="true" on:pointerdown=move |ev| start(ev, i, DragMode::Resize)></span>
                    </div>
                }
            })
            .collect_view()
    };
    let height = move || {
        let bottom = doc.with(|d| {
            d.as_ref()
                .and_then(|d| d.panels.iter().map(|p| p.grid.y + p.grid.h).max())
                .unwrap_or(0)
        });
        // Room below the last panel to drag into.
        format!("height:{}px", f64::from(bottom + 8) * MAP_ROW_PX)
    };
    view! {
        <h3>"Layout"</h3>
        <div class="layout-map" id="layout-map" node_ref=map style=height
            on:pointermove=on_move on:pointerup=end on:pointerleave=end>
            {boxes}
        </div>
    }
}

/// Panel `i`'s place on the grid, read without tracking.
fn grid_at(doc: RwSignal<Option<Dashboard>>, i: usize) -> Option<Grid> {
    doc.with_untracked(|d| {
        d.as_ref()
            .and_then(|d| d.panels.get(i).map(|p| p.grid.clone()))
    })
}
