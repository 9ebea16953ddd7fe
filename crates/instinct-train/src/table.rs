//! [`Table`]: a CSV read for training, column by column: numbers where every cell is one, the
//! cells as written where any is not (a class column such as `species`).

use crate::error::TrainError;
use std::path::Path;

/// One column of a [`Table`].
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// Every cell a finite number.
    Numbers(Vec<f32>),
    /// Some cell is not a number: every cell as written (trimmed).
    Text(Vec<String>),
}

impl Column {
    /// Number of cells.
    pub fn len(&self) -> usize {
        match self {
            Column::Numbers(v) => v.len(),
            Column::Text(v) => v.len(),
        }
    }

    /// Whether it has no cells.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first cell that is not a finite number, as `(row, cell)` (row 0 is the first data
    /// row); `None` for a column of numbers.
    pub fn first_non_number(&self) -> Option<(usize, &str)> {
        match self {
            Column::Numbers(_) => None,
            Column::Text(cells) => cells
                .iter()
                .enumerate()
                .find(|(_, c)| finite(c).is_none())
                .map(|(r, c)| (r, c.as_str())),
        }
    }
}

/// A cell as a finite number.
fn finite(cell: &str) -> Option<f32> {
    cell.parse::<f32>().ok().filter(|v| v.is_finite())
}

/// A CSV with a header: the column names and the columns, all of one length.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Column names, from the header.
    pub names: Vec<String>,
    /// The columns, one per name.
    pub columns: Vec<Column>,
    /// The line of the file each data row starts on (line 1 is the header), for messages: a
    /// quoted cell may span lines. (A row after blank lines is given the first blank line, as
    /// the csv crate reports it.)
    pub lines: Vec<u64>,
}

impl Table {
    /// A table of numbers from its rows, each as long as `names`.
    ///
    /// ```
    /// use instinct_train::data::{Column, Table};
    /// let t = Table::from_rows(vec!["x".into(), "y".into()], &[vec![1.0, 0.0], vec![2.0, 1.0]])?;
    /// assert_eq!(t.rows(), 2);
    /// assert_eq!(t.column("y"), Some(&Column::Numbers(vec![0.0, 1.0])));
    /// # Ok::<(), instinct_train::TrainError>(())
    /// ```
    pub fn from_rows(names: Vec<String>, rows: &[Vec<f32>]) -> Result<Table, TrainError> {
        if let Some((r, row)) = rows
            .iter()
            .enumerate()
            .find(|(_, r)| r.len() != names.len())
        {
            return Err(TrainError::Data(format!(
                "row {} has {} values for {} columns",
                r + 1,
                row.len(),
                names.len()
            )));
        }
        let columns = (0..names.len())
            .map(|c| Column::Numbers(rows.iter().map(|r| r[c]).collect()))
            .collect();
        let lines = (2..).take(rows.len()).collect();
        Ok(Table {
            names,
            columns,
            lines,
        })
    }

    /// The line of the file data row `row` (from 0) starts on.
    pub fn line(&self, row: usize) -> u64 {
        self.lines.get(row).copied().unwrap_or(row as u64 + 2)
    }

    /// Number of data rows.
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, Column::len)
    }

    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        let i = self.names.iter().position(|n| n == name)?;
        self.columns.get(i)
    }

    /// Reads a CSV with a header row. A column whose cells are all numbers is read as numbers,
    /// and a non-finite one (`NaN`, `inf`) among them is an error; a column with any other
    /// cell is kept as text (a feature column of text is refused when the data set is made,
    /// a target column of text holds class labels).
    ///
    /// The file is read twice when it has a text column: once for the numbers, once for the
    /// text columns' cells, so that a numeric column is never held as text. A file whose size
    /// or modification time changes in between is refused.
    pub fn read_csv(path: &Path) -> Result<Table, TrainError> {
        let fail = |what: String| TrainError::Data(format!("{}: {what}", path.display()));
        let stamp = || {
            let m = std::fs::metadata(path).ok()?;
            Some((m.len(), m.modified().ok()?))
        };
        let before = stamp();
        let mut names = Vec::new();
        let mut numbers: Vec<Vec<f32>> = Vec::new();
        let mut lines = Vec::new();
        // Per column, whether some cell is not a number.
        let mut is_text: Vec<bool> = Vec::new();
        for_each_record(path, &mut names, |line, record| {
            lines.push(line);
            if numbers.is_empty() {
                numbers = vec![Vec::new(); record.len()];
                is_text = vec![false; record.len()];
            }
            for ((cell, column), text) in record.iter().zip(&mut numbers).zip(&mut is_text) {
                if !*text {
                    match cell.parse::<f32>() {
                        Ok(v) => column.push(v),
                        Err(_) => *text = true,
                    }
                }
            }
        })?;
        if names.is_empty() || names.iter().all(String::is_empty) {
            return Err(fail("no header row".to_string()));
        }
        if numbers.is_empty() {
            return Err(fail("no data rows".to_string()));
        }
        // A column of numbers with a NaN or an infinity in it is a data error, not text.
        for ((column, &text), name) in numbers.iter().zip(&is_text).zip(&names) {
            if !text && let Some(r) = column.iter().position(|v| !v.is_finite()) {
                return Err(fail(format!(
                    "line {}, column {name:?}: {:?} is not a finite number",
                    lines[r],
                    column[r].to_string()
                )));
            }
        }
        let mut cells: Vec<Option<Vec<String>>> =
            is_text.iter().map(|&t| t.then(Vec::new)).collect();
        if cells.iter().any(Option::is_some) {
            let mut again = Vec::new();
            for_each_record(path, &mut again, |_, record| {
                for (cell, column) in record.iter().zip(&mut cells) {
                    if let Some(column) = column {
                        column.push(cell.to_string());
                    }
                }
            })?;
            if again != names || stamp() != before {
                return Err(fail("the file changed while it was read".to_string()));
            }
        }
        let columns: Vec<Column> = numbers
            .into_iter()
            .zip(cells)
            .map(|(n, t)| t.map_or(Column::Numbers(n), Column::Text))
            .collect();
        if columns.iter().any(|c| c.len() != columns[0].len()) {
            return Err(fail("the file changed while it was read".to_string()));
        }
        Ok(Table {
            names,
            columns,
            lines,
        })
    }
}

/// Calls `each(line, record)` for every data record of the CSV at `path`, `line` being the line
/// the record starts on (line 1 is the header, whose names go to `names`), refusing a record
/// whose length is not the header's.
fn for_each_record(
    path: &Path,
    names: &mut Vec<String>,
    mut each: impl FnMut(u64, &csv::StringRecord),
) -> Result<(), TrainError> {
    let fail = |what: String| TrainError::Data(format!("{}: {what}", path.display()));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| TrainError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    *names = reader
        .headers()
        .map_err(|e| fail(e.to_string()))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(e) => {
                let at = e
                    .position()
                    .map_or_else(String::new, |p| format!("line {}: ", p.line()));
                return Err(fail(format!("{at}{e}")));
            }
        }
        let line = record.position().map_or(0, csv::Position::line);
        if record.len() != names.len() {
            return Err(fail(format!(
                "line {line} has {} cells, the header {}",
                record.len(),
                names.len()
            )));
        }
        each(line, &record);
    }
}
