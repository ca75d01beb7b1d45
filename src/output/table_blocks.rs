//! A `stats` table on a terminal too narrow to draw it readably (its columns cannot keep
//! their header words: at 40 or 60 columns the codes table would be a column of `…`):
//! one block of `header: value` lines per row instead, as psql's expanded display
//! (`\x`) does, every line cut to the width.

use std::fmt::Write as _;

use comfy_table::Table;

/// `s` cut to `width` characters, `…` marking a cut.
fn cut(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut c: String = s.chars().take(width.saturating_sub(1)).collect();
    c.push('…');
    c
}

/// Writes `t` under `title` as blocks: a `-[ N ]` line, then `header: value` per cell (a
/// cell of several lines continues on lines indented by two spaces); a row with fewer
/// cells than headers (`… N more`) is written as it is.
pub(super) fn write_blocks(out: &mut String, title: &str, t: &Table, width: u16) {
    let w = usize::from(width).max(8);
    if !title.is_empty() {
        let _ = writeln!(out, "{}", cut(title, w));
    }
    let headers: Vec<String> = t
        .header()
        .map(|h| {
            h.cell_iter()
                .map(|c| c.content().split_whitespace().collect::<Vec<_>>().join(" "))
                .collect()
        })
        .unwrap_or_default();
    for (i, r) in t.row_iter().enumerate() {
        let cells: Vec<String> = r.cell_iter().map(|c| c.content()).collect();
        let mark = format!("-[ {} ]", i + 1);
        let fill = w.saturating_sub(mark.chars().count()).min(20);
        let _ = writeln!(out, "{mark}{}", "-".repeat(fill));
        if cells.len() < headers.len() {
            for l in cells.iter().flat_map(|c| c.lines()) {
                let _ = writeln!(out, "{}", cut(l, w));
            }
            continue;
        }
        for (h, c) in headers.iter().zip(&cells) {
            let mut lines = c.lines();
            let first = lines.next().unwrap_or("");
            let _ = writeln!(out, "{}", cut(format!("{h}: {first}").trim_end(), w));
            for l in lines {
                let _ = writeln!(out, "{}", cut(&format!("  {l}"), w));
            }
        }
    }
    out.push('\n');
}
