//! `Chunk`: a run of input rows in the model's feature order, with the input columns kept beside
//! them, and the `Chunker` every reader fills row by row and hands on when it is full.

use crate::error::DataError;

/// Rows read from an input: the model's input values and the kept columns' cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// The position of the chunk's first row among all rows read (from 0).
    pub first_row: usize,
    /// Number of rows.
    pub rows: usize,
    /// `rows × feature_size` values, row after row.
    pub values: Vec<f32>,
    /// One column per kept name ([`Columns::keep`](crate::Columns)), `rows` cells each.
    pub kept: Vec<KeptColumn>,
}

/// The cells of an input column copied through to the output.
#[derive(Debug, Clone, PartialEq)]
pub enum KeptColumn {
    /// CSV cells: the text exactly as it was in the file.
    Text(Vec<String>),
    /// JSON values, as they were.
    Json(Vec<serde_json::Value>),
    /// An Arrow or Parquet column, with its type.
    #[cfg(feature = "arrow")]
    Arrow(arrow_array::ArrayRef),
}

impl KeptColumn {
    /// Number of cells.
    pub fn len(&self) -> usize {
        match self {
            KeptColumn::Text(cells) => cells.len(),
            KeptColumn::Json(cells) => cells.len(),
            #[cfg(feature = "arrow")]
            KeptColumn::Arrow(array) => array.len(),
        }
    }

    /// The cells of rows `range`.
    pub fn slice(&self, range: std::ops::Range<usize>) -> KeptColumn {
        match self {
            KeptColumn::Text(cells) => KeptColumn::Text(cells[range].to_vec()),
            KeptColumn::Json(cells) => KeptColumn::Json(cells[range].to_vec()),
            #[cfg(feature = "arrow")]
            KeptColumn::Arrow(array) => KeptColumn::Arrow(array.slice(range.start, range.len())),
        }
    }

    /// Whether the column has no cell.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Where a reader hands its chunks: an error from it stops the reader and is returned by it.
pub type Emit<'e> = &'e mut dyn FnMut(Chunk) -> Result<(), DataError>;

/// The values a chunk aims to hold when the caller does not say how many rows: 1 Mi values
/// (4 MiB), at most 65,536 rows.
const CHUNK_VALUES: usize = 1 << 20;

/// The rows per chunk for rows of `width` values: `requested`, or as many as fit in 4 MiB of
/// values (at most 65,536, at least 1).
pub fn rows_per_chunk(width: usize, requested: Option<usize>) -> usize {
    requested
        .unwrap_or(CHUNK_VALUES / width.max(1))
        .clamp(1, 1 << 16)
}

/// Collects rows and hands them on, `chunk_rows` at a time.
pub(crate) struct Chunker<'e> {
    emit: Emit<'e>,
    chunk_rows: usize,
    width: usize,
    /// Rows handed on so far.
    done: usize,
    /// The current chunk.
    pub(crate) values: Vec<f32>,
    pub(crate) kept: Vec<KeptColumn>,
    rows: usize,
    kept_kinds: Vec<KeptColumn>,
}

impl<'e> Chunker<'e> {
    /// A chunker for rows of `width` values and the kept columns (empty ones of the kinds the
    /// reader fills).
    pub(crate) fn new(
        emit: Emit<'e>,
        width: usize,
        chunk_rows: usize,
        kept_kinds: Vec<KeptColumn>,
    ) -> Chunker<'e> {
        let mut chunker = Chunker {
            emit,
            chunk_rows: chunk_rows.max(1),
            width,
            done: 0,
            values: Vec::new(),
            kept: kept_kinds.clone(),
            rows: 0,
            kept_kinds,
        };
        chunker.reserve();
        chunker
    }

    fn reserve(&mut self) {
        // Reserved once per chunk: the readers then push without growing the vector.
        let want = self
            .chunk_rows
            .saturating_mul(self.width)
            .min(CHUNK_VALUES * 4);
        let _ = self.values.try_reserve_exact(want);
    }

    /// The rows read so far, the current chunk included.
    pub(crate) fn rows_read(&self) -> usize {
        self.done + self.rows
    }

    /// Room for one more row's values, or a message that memory ran out.
    pub(crate) fn reserve_row(&mut self) -> Result<(), DataError> {
        self.values.try_reserve(self.width).map_err(|_| {
            DataError::unreadable(format!(
                "not enough memory for a chunk of input rows ({} values)",
                self.values.len()
            ))
        })
    }

    /// Pushes the current row's cell of kept column `i` as a JSON value.
    pub(crate) fn keep_json(&mut self, i: usize, cell: serde_json::Value) {
        match &mut self.kept[i] {
            KeptColumn::Json(cells) => cells.push(cell),
            KeptColumn::Text(cells) => cells.push(cell.to_string()),
            #[cfg(feature = "arrow")]
            KeptColumn::Arrow(_) => {}
        }
    }

    /// Ends the current row (its values and kept cells pushed), handing the chunk on when full.
    pub(crate) fn end_row(&mut self) -> Result<(), DataError> {
        self.rows += 1;
        if self.rows >= self.chunk_rows {
            self.flush()?;
        }
        Ok(())
    }

    /// Hands on `rows` whole rows at once (a block a reader parsed in one piece): as one chunk,
    /// or cut into chunks of at most `chunk_rows` rows. Rows pushed one by one and not yet
    /// handed on go first.
    pub(crate) fn push_block(
        &mut self,
        values: Vec<f32>,
        kept: Vec<KeptColumn>,
        rows: usize,
    ) -> Result<(), DataError> {
        self.flush()?;
        if rows == 0 {
            return Ok(());
        }
        if rows <= self.chunk_rows {
            let chunk = Chunk {
                first_row: self.done,
                rows,
                values,
                kept,
            };
            self.done += rows;
            return (self.emit)(chunk);
        }
        let width = self.width;
        let mut start = 0;
        while start < rows {
            let end = (start + self.chunk_rows).min(rows);
            let chunk = Chunk {
                first_row: self.done,
                rows: end - start,
                values: values[start * width..end * width].to_vec(),
                kept: kept.iter().map(|k| k.slice(start..end)).collect(),
            };
            self.done += chunk.rows;
            (self.emit)(chunk)?;
            start = end;
        }
        Ok(())
    }

    /// The number of rows in a chunk.
    pub(crate) fn chunk_rows(&self) -> usize {
        self.chunk_rows
    }

    fn flush(&mut self) -> Result<(), DataError> {
        if self.rows == 0 {
            return Ok(());
        }
        let chunk = Chunk {
            first_row: self.done,
            rows: self.rows,
            values: std::mem::take(&mut self.values),
            kept: std::mem::replace(&mut self.kept, self.kept_kinds.clone()),
        };
        self.done += self.rows;
        self.rows = 0;
        self.reserve();
        (self.emit)(chunk)
    }

    /// Hands on the last, partial chunk; the number of rows read.
    pub(crate) fn finish(mut self) -> Result<usize, DataError> {
        self.flush()?;
        Ok(self.done)
    }
}
