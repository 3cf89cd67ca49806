//! The speedup chart of `mpisim scale`: speedup against N on a log₂ axis, with the ideal
//! line and the fitted law, as a screen of the terminal UI (`--tui`); [`Curves`] are the
//! same series for the text chart and the SVG plot.

use crate::theme::Theme;
use mpisim::speedup::{self, Analysis, Scaling};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, LegendPosition, Paragraph, Widget, Wrap};

/// The series of a speedup chart, with x = log₂ N.
#[derive(Clone, Debug, PartialEq)]
pub struct Curves {
    /// What the y axis shows: `speedup`, or `scaled speedup` for weak scaling.
    pub quantity: &'static str,
    /// S = N.
    pub ideal: Vec<(f64, f64)>,
    /// The fitted law (Amdahl's, or Gustafson's for weak scaling), if there is a fit.
    pub fit: Vec<(f64, f64)>,
    /// The fit's name with its serial fraction: `Amdahl s = 0.100`.
    pub fit_name: String,
    /// The simulated speedups, at the sizes that completed.
    pub simulated: Vec<(f64, f64)>,
    /// The speedups measured on real MPI.
    pub real: Vec<(f64, f64)>,
    /// log₂ of the smallest and largest N.
    pub x: (f64, f64),
    /// The top of the y axis: a little above the highest measured or fitted speedup.
    pub y_max: f64,
}

impl Curves {
    /// The series of `study`, the curves sampled at `samples` points.
    pub fn of(study: &Analysis, samples: usize) -> Curves {
        let sizes: Vec<usize> = study.rows.iter().map(|r| r.ranks).collect();
        let lg = |n: usize| (n.max(1) as f64).log2();
        let x = (lg(sizes.first().copied().unwrap_or(1)), lg(sizes.last().copied().unwrap_or(1)));
        let weak = study.scaling == Scaling::Weak;
        let fit = if weak { study.gustafson } else { study.amdahl };
        let law = |s: f64, n: f64| if weak { speedup::gustafson_speedup(s, n) } else { speedup::amdahl_speedup(s, n) };
        let samples = samples.max(2);
        let along = |i: usize| x.0 + (x.1 - x.0) * i as f64 / (samples - 1) as f64;
        let fit_curve: Vec<(f64, f64)> = match fit {
            Some(f) => (0..samples).map(|i| (along(i), law(f.serial, along(i).exp2()))).collect(),
            None => Vec::new(),
        };
        let simulated: Vec<(f64, f64)> =
            study.rows.iter().filter_map(|r| r.speedup.or(r.scaled_speedup).map(|s| (lg(r.ranks), s))).collect();
        let real: Vec<(f64, f64)> =
            study.rows.iter().filter_map(|r| r.real.as_ref()?.speedup.map(|s| (lg(r.ranks), s))).collect();
        let highest = simulated.iter().chain(&real).chain(&fit_curve).map(|p| p.1).fold(1.0, f64::max);
        Curves {
            quantity: if weak { "scaled speedup" } else { "speedup" },
            ideal: (0..samples).map(|i| (along(i), along(i).exp2())).collect(),
            fit: fit_curve,
            fit_name: match fit {
                Some(f) => format!("{} s = {:.3}", if weak { "Gustafson" } else { "Amdahl" }, f.serial),
                None => "no fit".into(),
            },
            simulated,
            real,
            x,
            y_max: nice_ceiling(highest * 1.1),
        }
    }

    /// Labels of the x axis, evenly spaced in log₂ N (at most 7): `1 2 4 … 64`.
    pub fn x_labels(&self) -> Vec<String> {
        let span = (self.x.1 - self.x.0).round().max(0.0) as usize;
        let steps = (1..=6).rev().find(|k| span % k == 0).unwrap_or(1).min(span.max(1));
        (0..=steps)
            .map(|i| number(((self.x.0 + (self.x.1 - self.x.0) * i as f64 / steps as f64).exp2()).round()))
            .collect()
    }
}

/// The smallest of 1, 2, 2.5, 5 times a power of ten that is at least `x`.
fn nice_ceiling(x: f64) -> f64 {
    let power = 10f64.powf(x.max(1e-9).log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * power).find(|v| *v >= x).unwrap_or(10.0 * power)
}

/// A number as an axis shows it: `64`, `2.5`.
pub fn number(x: f64) -> String {
    if (x - x.round()).abs() < 1e-9 {
        format!("{}", x.round())
    } else {
        format!("{x:.1}")
    }
}

/// The screen: a title, the chart, what the figures say, and the keys.
pub struct Speedup<'a> {
    /// The command's program and setting, for the title.
    pub title: &'a str,
    /// The study to draw.
    pub study: &'a Analysis,
}

impl Speedup<'_> {
    /// Draws the screen over `area`.
    pub fn render(&self, theme: Theme, area: Rect, buf: &mut Buffer) {
        let [title, chart, notes, footer] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(8), Constraint::Length(7), Constraint::Length(1)])
                .areas(area);
        let line =
            Line::from(vec![Span::styled(" mpisim scale ", theme.title()), Span::raw(format!("{} ", self.title))]);
        Paragraph::new(line).render(title, buf);
        let curves = Curves::of(self.study, usize::from(chart.width.max(2)) * 2);
        let datasets = vec![
            dataset("ideal S = N", &curves.ideal, GraphType::Line, Marker::Braille, theme.dim()),
            dataset(&curves.fit_name, &curves.fit, GraphType::Line, Marker::Braille, theme.good()),
            dataset("simulated", &curves.simulated, GraphType::Scatter, Marker::Block, theme.alert()),
            dataset("real MPI", &curves.real, GraphType::Scatter, Marker::Dot, theme.key()),
        ];
        let datasets: Vec<Dataset> = datasets.into_iter().filter(|(points, _)| *points > 0).map(|(_, d)| d).collect();
        let y_labels = [0.0, curves.y_max / 2.0, curves.y_max].map(number).to_vec();
        Chart::new(datasets)
            .x_axis(
                Axis::default()
                    .title("N")
                    .bounds([curves.x.0, curves.x.1.max(curves.x.0 + 1.0)])
                    .labels(curves.x_labels()),
            )
            .y_axis(Axis::default().title(curves.quantity).bounds([0.0, curves.y_max]).labels(y_labels))
            .legend_position(Some(LegendPosition::TopLeft))
            .hidden_legend_constraints((Constraint::Percentage(60), Constraint::Percentage(60)))
            .render(chart, buf);
        let mut lines = Vec::new();
        if let Some(line) = fit_line(self.study) {
            lines.push(Line::from(line));
        }
        lines.extend(self.study.findings.iter().map(|f| Line::from(format!("· {f}"))));
        Paragraph::new(lines).wrap(Wrap { trim: true }).render(notes, buf);
        let keys = Line::from(vec![Span::raw(" "), Span::styled("q", theme.key()), Span::raw(" quit")]);
        Paragraph::new(keys).render(footer, buf);
    }
}

fn dataset<'a>(
    name: &str,
    points: &'a [(f64, f64)],
    kind: GraphType,
    marker: Marker,
    style: Style,
) -> (usize, Dataset<'a>) {
    (points.len(), Dataset::default().name(name.to_string()).data(points).graph_type(kind).marker(marker).style(style))
}

/// The fit in one line: `Amdahl fit: s = 0.100, so S ≤ 10.00 (rms error 0.0%)`.
pub fn fit_line(study: &Analysis) -> Option<String> {
    if let Some(f) = study.amdahl {
        let bound = f.bound.map_or("no bound (s ≤ 0)".to_string(), |b| format!("S ≤ 1/s = {b:.2}"));
        return Some(format!("Amdahl fit: s = {:.4}, {bound} (rms error {:.1}%)", f.serial, f.rms_error * 100.0));
    }
    study.gustafson.map(|f| {
        format!(
            "Gustafson fit: s = {:.4}, scaled speedup N − s(N − 1) (rms error {:.1}%)",
            f.serial,
            f.rms_error * 100.0
        )
    })
}
