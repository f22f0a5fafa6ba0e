//! A table as shown on screen, kept as data so that the same rows and columns that are
//! drawn are the ones written to CSV or JSON: each cell holds the text shown and the
//! exact value exported (numbers unrounded, in the unit the column's key names).

use serde_json::Value;

/// One column: the heading shown and the key exported (`p95_ms`, `cost_usd`).
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Heading on screen.
    pub title: &'static str,
    /// Name in CSV headers and JSON keys, with its unit.
    pub key: &'static str,
}

/// One cell: what is shown, and the exact value behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// The formatted text on screen (`1.2K`, `$0.0031`).
    pub shown: String,
    /// The exact value exported and sorted by.
    pub value: Value,
}

impl Cell {
    /// Text shown as it is.
    pub fn text(s: impl Into<String>) -> Cell {
        let s = s.into();
        Cell {
            value: Value::String(s.clone()),
            shown: s,
        }
    }

    /// A number shown formatted.
    pub fn number(shown: String, value: f64) -> Cell {
        Cell {
            shown,
            value: serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number),
        }
    }

    /// A count shown formatted.
    pub fn count(shown: String, value: u64) -> Cell {
        Cell {
            shown,
            value: Value::from(value),
        }
    }
}

/// A titled table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableData {
    /// What the table shows (also the default file name).
    pub title: String,
    /// Columns, left to right.
    pub columns: Vec<Column>,
    /// Rows, each with one cell per column.
    pub rows: Vec<Vec<Cell>>,
}

impl TableData {
    /// Sorts the rows by column `col`'s values (numbers numerically, text by text).
    pub fn sort_by(&mut self, col: usize, descending: bool) {
        self.rows.sort_by(|a, b| {
            let ord = compare(&a[col].value, &b[col].value);
            if descending { ord.reverse() } else { ord }
        });
    }

    /// The table as CSV: a header of column keys, then the exact values.
    pub fn csv(&self) -> Vec<u8> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let fail = "CSV into memory cannot fail";
        w.write_record(self.columns.iter().map(|c| c.key))
            .expect(fail);
        for row in &self.rows {
            w.write_record(row.iter().map(|c| match &c.value {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                v => v.to_string(),
            }))
            .expect(fail);
        }
        w.into_inner().expect(fail)
    }

    /// The table as a JSON array of objects keyed by column key.
    pub fn json(&self) -> Vec<u8> {
        let rows: Vec<serde_json::Map<String, Value>> = self
            .rows
            .iter()
            .map(|row| {
                self.columns
                    .iter()
                    .zip(row)
                    .map(|(c, cell)| (c.key.to_string(), cell.value.clone()))
                    .collect()
            })
            .collect();
        let text = serde_json::to_string_pretty(&rows).expect("JSON of plain values");
        (text + "\n").into_bytes()
    }
}

fn compare(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        _ => a.as_str().unwrap_or("").cmp(b.as_str().unwrap_or("")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> TableData {
        TableData {
            title: "Models".into(),
            columns: vec![
                Column {
                    title: "Model",
                    key: "model",
                },
                Column {
                    title: "Cost",
                    key: "cost_usd",
                },
            ],
            rows: vec![
                vec![
                    Cell::text("b, \"quoted\""),
                    Cell::number("$0.0031".into(), 0.003125),
                ],
                vec![Cell::text("a"), Cell::number("$12.45".into(), 12.45)],
            ],
        }
    }

    #[test]
    fn csv_and_json_hold_the_exact_values_of_every_row() {
        let t = table();
        let csv = String::from_utf8(t.csv()).unwrap();
        assert_eq!(
            csv,
            "model,cost_usd\n\"b, \"\"quoted\"\"\",0.003125\na,12.45\n"
        );
        let json: Value = serde_json::from_slice(&t.json()).unwrap();
        assert_eq!(json[1]["model"], "a");
        assert_eq!(json[0]["cost_usd"], 0.003125);
    }

    #[test]
    fn sorting_compares_numbers_as_numbers() {
        let mut t = table();
        t.sort_by(1, true);
        assert_eq!(t.rows[0][0].shown, "a");
        t.sort_by(0, false);
        assert_eq!(t.rows[0][0].shown, "a");
    }
}
