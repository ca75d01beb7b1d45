//! The report's plots: SVG drawn by plotters (its SVG backend only, text laid out with its
//! naive font metrics; the browser draws the text). Each function returns the `<svg>`
//! element, or the drawing error as text (never a panic).

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

/// Width and height of a chart in SVG units (scaled to the page by CSS).
const W: u32 = 960;
const H: u32 = 360;
const FONT: &str = "sans-serif";
/// Fine grid lines between two labelled ones (plotters draws 10 by default: each a path in
/// the SVG, most of a page's bytes).
const LIGHT_LINES: usize = 1;

type Res = Result<(), Box<dyn std::error::Error>>;

/// Categorical colours (Tableau 10), then grey for "other".
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(127, 127, 127),
    RGBColor(214, 39, 40),
];
/// Reds for error response codes.
const ERROR_COLOURS: [RGBColor; 5] = [
    RGBColor(214, 39, 40),
    RGBColor(255, 127, 14),
    RGBColor(148, 0, 0),
    RGBColor(227, 119, 194),
    RGBColor(188, 143, 0),
];

fn draw(
    w: u32,
    h: u32,
    f: impl FnOnce(DrawingArea<SVGBackend, plotters::coord::Shift>) -> Res,
) -> String {
    let mut s = String::new();
    let res = {
        let root = SVGBackend::with_string(&mut s, (w, h)).into_drawing_area();
        let r = root
            .fill(&WHITE)
            .map_err(|e| e.into())
            .and_then(|_| f(root.clone()));
        r.and_then(|_| root.present().map_err(|e| e.into()))
    };
    match res {
        Ok(()) => s,
        Err(e) => format!(
            "<p class=\"plot-error\">plot not drawn: {}</p>",
            super::html::esc(&e.to_string())
        ),
    }
}

/// One line of a time series: name, colour, width, points (seconds, value).
pub struct Line {
    pub name: String,
    pub colour: RGBColor,
    pub width: u32,
    pub points: Vec<(f64, f64)>,
    /// Draw a dot at each point (errors).
    pub dots: bool,
}

/// Lines over time, y from 0 (or on a log scale), with axes, units and a legend.
pub fn time_lines(title: &str, y_desc: &str, lines: &[Line], log_y: bool) -> String {
    time_lines_with(title, y_desc, lines, log_y, true)
}

/// Lines over time with the legend as HTML below the plot (many lines: a legend inside
/// the plot would hide some of them).
pub fn time_lines_legend_below(title: &str, y_desc: &str, lines: &[Line], log_y: bool) -> String {
    let mut o = time_lines_with(title, y_desc, lines, log_y, false);
    o.push_str("<div class=\"legend\">");
    for l in lines {
        let RGBColor(r, g, b) = l.colour;
        o.push_str(&format!(
            "<span style=\"display:inline-block;margin:0 12px 4px 0;white-space:nowrap\"><span style=\"display:inline-block;width:22px;height:{}px;background:rgb({r},{g},{b});vertical-align:middle;margin-right:5px\"></span>{}</span>",
            l.width + 1,
            super::html::esc(&l.name)
        ));
    }
    o.push_str("</div>");
    o
}

fn time_lines_with(
    title: &str,
    y_desc: &str,
    lines: &[Line],
    log_y: bool,
    svg_legend: bool,
) -> String {
    let x_max = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0))
        .fold(0.0f64, f64::max)
        .max(1e-3);
    let y_max = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .fold(0.0f64, f64::max);
    draw(W, H, |root| {
        let mut b = ChartBuilder::on(&root);
        b.caption(title, (FONT, 18))
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(72);
        if log_y {
            let y_min = lines
                .iter()
                .flat_map(|l| l.points.iter().map(|p| p.1))
                .filter(|v| *v > 0.0)
                .fold(f64::MAX, f64::min);
            let y_min = if y_min == f64::MAX { 1.0 } else { y_min / 2.0 };
            let mut c = b.build_cartesian_2d(
                0.0..x_max,
                (y_min..(y_max * 2.0).max(y_min * 10.0)).log_scale(),
            )?;
            c.configure_mesh()
                .max_light_lines(LIGHT_LINES)
                .x_desc("time since the first interval (s)")
                .y_desc(y_desc)
                .y_label_formatter(&|v| human_us(*v))
                .label_style((FONT, 13))
                .draw()?;
            for l in lines {
                let pts: Vec<(f64, f64)> = l.points.iter().copied().filter(|p| p.1 > 0.0).collect();
                let colour = l.colour;
                if l.dots {
                    c.draw_series(pts.iter().map(|&p| Circle::new(p, 3, colour.filled())))?;
                }
                c.draw_series(LineSeries::new(pts, colour.stroke_width(l.width)))?
                    .label(pad(&l.name))
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(3))
                    });
            }
            if svg_legend {
                legend(&mut c)?;
            }
        } else {
            let mut c = b.build_cartesian_2d(0.0..x_max, 0.0..(y_max * 1.1).max(1.0))?;
            c.configure_mesh()
                .max_light_lines(LIGHT_LINES)
                .x_desc("time since the first interval (s)")
                .y_desc(y_desc)
                .y_label_formatter(&|v| human(*v))
                .label_style((FONT, 13))
                .draw()?;
            for l in lines {
                let colour = l.colour;
                c.draw_series(LineSeries::new(
                    l.points.iter().copied(),
                    colour.stroke_width(l.width),
                ))?
                .label(pad(&l.name))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(3))
                });
                if l.dots {
                    c.draw_series(
                        l.points
                            .iter()
                            .filter(|p| p.1 > 0.0)
                            .map(|&p| Circle::new(p, 4, colour.filled())),
                    )?;
                }
            }
            if svg_legend {
                legend(&mut c)?;
            }
        }
        Ok(())
    })
}

fn legend<'a, 'b, Y: plotters::coord::ranged1d::Ranged<ValueType = f64>>(
    c: &mut ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, Y>>,
) -> Res
where
    'b: 'a,
{
    c.configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT, 13))
        .draw()?;
    Ok(())
}

/// The colour of the i-th request code series.
pub fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// The colour of the i-th error response code.
pub fn error_colour(i: usize) -> RGBColor {
    ERROR_COLOURS[i % ERROR_COLOURS.len()]
}

/// The latency histogram: bins of powers of two of µs (bin i: [2^(i-1), 2^i)), on a log
/// x axis, log y (counts).
pub fn latency_histogram(bins: &[u64]) -> String {
    let last = bins.iter().rposition(|&n| n > 0).unwrap_or(0);
    let first = bins.iter().position(|&n| n > 0).unwrap_or(0);
    let max = bins.iter().copied().max().unwrap_or(0).max(1) as f64;
    draw(W, H, |root| {
        let mut c = ChartBuilder::on(&root)
            .caption("Latency histogram (request to response)", (FONT, 18))
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(72)
            .build_cartesian_2d(
                (first as f64 - 1.0)..(last as f64 + 1.0),
                (0.5f64..max * 2.0).log_scale(),
            )?;
        c.configure_mesh()
            .max_light_lines(LIGHT_LINES)
            .x_desc("latency (log scale: bins of powers of two)")
            .y_desc("responses (log scale)")
            .x_labels((last - first + 2).min(24))
            .x_label_formatter(&|v| {
                if *v < 0.0 || v.fract() != 0.0 {
                    String::new()
                } else if *v == 0.0 {
                    "0".into()
                } else {
                    human_us(2f64.powf(*v - 1.0))
                }
            })
            .y_label_formatter(&|v| human(*v))
            .label_style((FONT, 13))
            .draw()?;
        c.draw_series(
            bins.iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .map(|(i, &n)| {
                    let x = i as f64;
                    Rectangle::new(
                        [(x - 1.0, 0.5), (x, n as f64)],
                        PALETTE[0].mix(0.8).filled(),
                    )
                }),
        )?;
        Ok(())
    })
}

/// A heatmap: rows × columns of counts, labelled.
pub fn heatmap(
    title: &str,
    rows: &[String],
    cols: &[i32],
    cell: &dyn Fn(usize, usize) -> u64,
) -> String {
    let max = (0..rows.len())
        .flat_map(|r| (0..cols.len()).map(move |c| (r, c)))
        .map(|(r, c)| cell(r, c))
        .max()
        .unwrap_or(0)
        .max(1);
    let h = (80 + 44 * rows.len() as u32).min(1200);
    draw(W, h, |root| {
        let mut c = ChartBuilder::on(&root)
            .caption(title, (FONT, 16))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(160)
            .build_cartesian_2d(0.0..cols.len() as f64, 0.0..rows.len() as f64)?;
        c.configure_mesh()
            .max_light_lines(LIGHT_LINES)
            .disable_mesh()
            .x_desc("queueId")
            .x_labels(cols.len().min(64) * 2 + 1)
            .y_labels(rows.len() * 2 + 1)
            .x_label_formatter(&|v| {
                label_at(*v, cols.len())
                    .map(|i| cols[i].to_string())
                    .unwrap_or_default()
            })
            .y_label_formatter(&|v| {
                label_at(*v, rows.len())
                    .map(|i| rows[i].clone())
                    .unwrap_or_default()
            })
            .label_style((FONT, 13))
            .draw()?;
        for r in 0..rows.len() {
            for (ci, _) in cols.iter().enumerate() {
                let n = cell(r, ci);
                let t = n as f64 / max as f64;
                let fill = RGBColor(
                    (247.0 - t * 239.0) as u8,
                    (251.0 - t * 203.0) as u8,
                    (255.0 - t * 148.0) as u8,
                );
                let (x, y) = (ci as f64, r as f64);
                c.draw_series(std::iter::once(Rectangle::new(
                    [(x, y), (x + 1.0, y + 1.0)],
                    fill.filled(),
                )))?;
                let text = if t > 0.55 { WHITE } else { BLACK };
                c.draw_series(std::iter::once(Text::new(
                    n.to_string(),
                    (x + 0.4, y + 0.6),
                    (FONT, 13).into_font().color(&text),
                )))?;
            }
        }
        Ok(())
    })
}

/// The index a label position stands for: labels are asked at half steps, the middles
/// (k + 0.5) name row or column k.
fn label_at(v: f64, n: usize) -> Option<usize> {
    let k = v - 0.5;
    (k >= 0.0 && (k - k.round()).abs() < 1e-6 && (k.round() as usize) < n)
        .then(|| k.round() as usize)
}

/// A producer's picks against the route's queue list: x the pick number, y the place in
/// the list (picks outside the list on a row of their own), and the round robin from the
/// first pick drawn as a dashed line.
pub fn picks(title: &str, list: &[String], picks: &[String]) -> String {
    let n = list.len();
    let place = |p: &String| list.iter().position(|q| q == p);
    let rows = n + usize::from(picks.iter().any(|p| place(p).is_none()));
    let h = (140 + 18 * rows as u32).clamp(240, 900);
    draw(W, h, |root| {
        let mut c = ChartBuilder::on(&root)
            .caption(title, (FONT, 16))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(180)
            .build_cartesian_2d(
                -0.5..(picks.len() as f64).max(1.0) - 0.5,
                -0.5..(rows.max(1) as f64 + 1.5),
            )?;
        c.configure_mesh()
            .max_light_lines(LIGHT_LINES)
            .x_desc("pick (send request) number")
            .x_label_formatter(&|v| {
                if v.fract() == 0.0 {
                    format!("{v:.0}")
                } else {
                    String::new()
                }
            })
            .y_labels(rows.min(48))
            .y_label_formatter(&|v| {
                if v.fract() != 0.0 || *v < 0.0 {
                    return String::new();
                }
                let i = *v as usize;
                list.get(i).cloned().unwrap_or_else(|| {
                    if i == n {
                        "(not in route)".into()
                    } else {
                        String::new()
                    }
                })
            })
            .label_style((FONT, 12))
            .draw()?;
        if n > 0
            && let Some(start) = picks.first().and_then(place)
        {
            let expected: Vec<(f64, f64)> = (0..picks.len())
                .map(|k| (k as f64, ((start + k) % n) as f64))
                .collect();
            c.draw_series(LineSeries::new(expected, PALETTE[8].stroke_width(1)))?
                .label(pad("round robin from the first pick"))
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], PALETTE[8].stroke_width(2))
                });
        }
        c.draw_series(picks.iter().enumerate().map(|(k, p)| {
            let y = place(p).unwrap_or(n) as f64;
            let colour = if place(p).is_some() {
                PALETTE[0]
            } else {
                PALETTE[9]
            };
            Circle::new((k as f64, y), 4, colour.filled())
        }))?
        .label(pad("queue picked"))
        .legend(|(x, y)| Circle::new((x + 10, y), 4, PALETTE[0].filled()));
        c.configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font((FONT, 12))
            .draw()?;
        Ok(())
    })
}

/// A node of the topology drawing.
pub struct Node {
    pub label: String,
    pub detail: String,
}

/// Clients on the left, servers on the right, a line for each connection between them.
pub fn topology(clients: &[Node], servers: &[Node], edges: &[(usize, usize)]) -> String {
    let rows = clients.len().max(servers.len()).max(1) as u32;
    let h = 60 + 56 * rows;
    draw(W, h, |root| {
        let (bw, bh) = (300i32, 44i32);
        let (lx, rx) = (10i32, W as i32 - bw - 10);
        let y = |i: usize, n: usize| -> i32 {
            let step = (h as i32 - 40) / n.max(1) as i32;
            30 + step * i as i32 + (step - bh) / 2
        };
        root.draw(&Text::new("clients", (lx, 8), (FONT, 15).into_font()))?;
        root.draw(&Text::new(
            "servers (role)",
            (rx, 8),
            (FONT, 15).into_font(),
        ))?;
        for &(a, b) in edges {
            let (ya, yb) = (y(a, clients.len()) + bh / 2, y(b, servers.len()) + bh / 2);
            root.draw(&PathElement::new(
                vec![(lx + bw, ya), (rx, yb)],
                PALETTE[8].stroke_width(1),
            ))?;
        }
        for (side, nodes, x, colour) in [(0, clients, lx, PALETTE[0]), (1, servers, rx, PALETTE[1])]
        {
            let _ = side;
            for (i, n) in nodes.iter().enumerate() {
                let top = y(i, nodes.len());
                root.draw(&Rectangle::new(
                    [(x, top), (x + bw, top + bh)],
                    colour.mix(0.12).filled(),
                ))?;
                root.draw(&Rectangle::new(
                    [(x, top), (x + bw, top + bh)],
                    colour.stroke_width(1),
                ))?;
                root.draw(&Text::new(
                    n.label.clone(),
                    (x + 6, top + 5),
                    (FONT, 14).into_font(),
                ))?;
                root.draw(&Text::new(
                    n.detail.clone(),
                    (x + 6, top + 24),
                    (FONT, 12).into_font().color(&RGBColor(80, 80, 80)),
                ))?;
            }
        }
        Ok(())
    })
}

/// A legend label with room to spare: plotters sizes the legend box with its naive font
/// metrics, narrower than a browser's sans-serif; trailing spaces widen the box and are not
/// drawn (SVG collapses them).
fn pad(label: &str) -> String {
    format!("{label}{}", " ".repeat(label.chars().count() / 4 + 2))
}

/// A count or rate with a unit prefix (k, M, G).
pub fn human(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.1}G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 10.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// Microseconds as µs, ms or s.
pub fn human_us(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.3} s", v / 1e6)
    } else if v >= 1e3 {
        format!("{} ms", trim(v / 1e3))
    } else {
        format!("{} µs", trim(v))
    }
}

fn trim(v: f64) -> String {
    if v >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}
