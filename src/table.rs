//! Aligned plain-text tables for the operator commands (like `kubectl get`): a header row in
//! capitals and columns padded to their widest cell. `--json` prints the machine form instead.

/// Renders `rows` under `header`, each column as wide as its widest cell, two spaces apart.
pub fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            if i + 1 < row.len() {
                line.extend(std::iter::repeat_n(' ', w - cell.chars().count()));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A timestamp as operators read it (UTC, to the second).
pub fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// An optional cell; `-` when empty.
pub fn opt(value: Option<impl ToString>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn columns_are_aligned() {
        let out = super::render(
            &["NAME", "RATE"],
            &[
                vec!["a".into(), "300".into()],
                vec!["longer-name".into(), "5".into()],
            ],
        );
        assert_eq!(out, "NAME         RATE\na            300\nlonger-name  5\n");
    }
}
