//! Where everything goes: one pure function of the model and the terminal size, used by the
//! view to draw and by the update to map mouse clicks and to page through ranks.

use crate::app::{App, Screen};
use ratatui::layout::Rect;

/// The screen's regions and the diagram's geometry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Areas {
    /// The first line: what ran and how it ended.
    pub title: Rect,
    /// The second line: the screens and the cursor.
    pub tabs: Rect,
    /// The line under the tabs that tells a completed run's warnings (empty without any).
    pub banner: Rect,
    /// Everything between the tabs and the footer.
    pub body: Rect,
    /// The last line: key hints, the filter being typed, notices.
    pub footer: Rect,
    /// The diagram's block (borders included); empty on other screens.
    pub diagram_block: Rect,
    /// Inside the diagram's borders.
    pub diagram: Rect,
    /// Below the diagram: the inspector and the ranks' state.
    pub panes: Rect,
    /// Columns of rank labels at the left of the diagram.
    pub gutter: u16,
    /// Columns of time in the diagram.
    pub diagram_columns: u16,
    /// Lines of the time axis at the top of the diagram.
    pub axis_rows: u16,
    /// Lines per rank: 2 leaves a line between ranks for messages, 1 packs them.
    pub row_pitch: usize,
    /// Ranks that fit in the diagram (or in a table on the other screens).
    pub visible_rows: usize,
}

/// Lines of the panes under the diagram, borders included.
const PANES_HEIGHT: u16 = 8;

/// The layout of `app` on its terminal: in the region at `app.origin`.
pub fn areas(app: &App) -> Areas {
    let mut areas = local_areas(app);
    let (dx, dy) = app.origin;
    for r in [
        &mut areas.title,
        &mut areas.tabs,
        &mut areas.banner,
        &mut areas.body,
        &mut areas.footer,
        &mut areas.diagram_block,
        &mut areas.diagram,
        &mut areas.panes,
    ] {
        if r.width > 0 || r.height > 0 {
            r.x += dx;
            r.y += dy;
        }
    }
    areas
}

/// The layout in a region whose top left corner is (0, 0). An embedded viewer has no title,
/// tabs or footer: its body is the whole region.
fn local_areas(app: &App) -> Areas {
    let (w, h) = app.size;
    let full = Rect::new(0, 0, w, h);
    let line = |y: u16| Rect::new(0, y.min(h.saturating_sub(1)), w, u16::from(h > y));
    let (title, tabs, footer, body) = if app.embedded {
        (Rect::default(), Rect::default(), Rect::default(), full)
    } else {
        (line(0), line(1), line(h.saturating_sub(1)), Rect::new(0, 2.min(h), w, h.saturating_sub(3)))
    };
    // The banner takes the body's first line, on every screen: the warnings are the run's.
    let (banner, body) = if app.embedded || app.warnings.is_empty() || body.height < 4 {
        (Rect::default(), body)
    } else {
        (Rect::new(body.x, body.y, body.width, 1), Rect::new(body.x, body.y + 1, body.width, body.height - 1))
    };
    let digits = app.tl.ranks.saturating_sub(1).max(1).to_string().len() as u16;
    let gutter = digits + 3;
    let mut areas = Areas {
        title,
        tabs,
        banner,
        body,
        footer,
        diagram_block: Rect::default(),
        diagram: Rect::default(),
        panes: Rect::default(),
        gutter,
        diagram_columns: 0,
        axis_rows: 2,
        row_pitch: 1,
        visible_rows: body.height.saturating_sub(3) as usize,
    };
    if app.screen != Screen::Timeline {
        return areas;
    }
    // The panes shrink on short terminals; the diagram keeps at least a few lines.
    let panes_height = if body.height >= PANES_HEIGHT + 8 { PANES_HEIGHT } else { body.height.saturating_sub(8) };
    let diagram_block = Rect::new(body.x, body.y, body.width, body.height - panes_height);
    let panes = Rect::new(body.x, body.y + diagram_block.height, body.width, panes_height);
    let diagram = diagram_block.inner(ratatui::layout::Margin::new(1, 1)).intersection(full);
    let lines = diagram.height.saturating_sub(areas.axis_rows) as usize;
    let ranks = app.rows.len();
    let row_pitch = if ranks > 0 && ranks * 2 - 1 <= lines { 2 } else { 1 };
    areas.diagram_block = diagram_block;
    areas.diagram = diagram;
    areas.panes = panes;
    areas.diagram_columns = diagram.width.saturating_sub(gutter);
    areas.row_pitch = row_pitch;
    areas.visible_rows = if row_pitch == 2 { lines.div_ceil(2) } else { lines };
    areas
}
