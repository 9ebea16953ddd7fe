//! The batch engine: samples run in tiles. A tile holds the unified memory of several samples
//! back to back, every DOT and ATTENTION runs as one matrix product over the whole tile (with
//! bias and activation applied while the tile is in cache), every other instruction runs row by
//! row, and tiles are spread over a rayon pool of an explicit size.

use crate::error::PredictError;
use crate::interpreter::Interpreter;
use crate::parallel::{PredictConfig, allocate};
use crate::plan::Plan;
use crate::plan::Step;
use instinct_kernels::fast::{self, Kind};
use instinct_kernels::small_chain;
use instinct_kernels::{TileProduct, packed_tile_product};
use rayon::prelude::*;
use std::cell::RefCell;
use std::ops::Range;
use std::sync::{Arc, Mutex};

/// Bytes of tile memory to aim for: large enough for the matrix products to reach their speed,
/// small enough to stay in a core's L2 cache.
const TILE_BYTES: usize = 512 * 1024;

/// Most samples in one tile.
const MAX_TILE_ROWS: usize = 1024;

/// Samples per tile for a model whose samples need `memory` values each: a multiple of 8 (the
/// sgemm kernels' row block) when more than 8 fit.
pub(crate) fn tile_rows(memory: usize) -> usize {
    let rows = (TILE_BYTES / 4 / memory.max(1)).clamp(1, MAX_TILE_ROWS);
    if rows >= 8 { rows / 8 * 8 } else { rows }
}

thread_local! {
    /// Each thread's tile memory, kept between calls so a warm engine does not allocate.
    pub(crate) static TILE: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// The rayon pool of the last thread count asked for. One pool at a time: asking for another
/// count replaces it (its threads exit once idle), so varying thread counts never pile up
/// threads, while repeated calls with one count reuse warm threads and their tiles.
fn pool(threads: usize) -> Result<Arc<rayon::ThreadPool>, PredictError> {
    static POOL: Mutex<Option<(usize, Arc<rayon::ThreadPool>)>> = Mutex::new(None);
    let mut current = POOL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((n, p)) = current.as_ref()
        && *n == threads
    {
        return Ok(p.clone());
    }
    let p = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("instinct-{i}"))
        .build()
        .map_err(|e| PredictError::ThreadSpawn(e.to_string()))?;
    let p = Arc::new(p);
    *current = Some((threads, p.clone()));
    Ok(p)
}

/// Rows per chunk of work: the tile's, or fewer so that the threads (at most one per tile)
/// get equal shares, a whole number of chunks each in multiples of 8 rows, when the batch is
/// only a few tiles long. Every row's result is the same whatever chunk it is in.
fn balanced_rows(tile: usize, samples: usize, threads: usize) -> usize {
    let tiles = samples.div_ceil(tile.max(1));
    // Never more threads than tiles (a pool as large as the work, no larger).
    let threads = threads.min(tiles);
    if threads <= 1 {
        return tile;
    }
    let chunks = tiles.next_multiple_of(threads);
    let rows = samples.div_ceil(chunks);
    if rows >= 8 {
        rows.next_multiple_of(8).min(tile)
    } else {
        tile
    }
}

impl Plan {
    /// Runs the samples of one tile. `tile` holds `rows` memory rows of `self.memory` values,
    /// each with its input in place and zeros after it.
    pub(crate) fn run_tile(&self, tile: &mut [f32], rows: usize) {
        let total = self.memory;
        let tile = &mut tile[..rows * total];
        for step in &self.steps {
            let (input, output, slot) = match step {
                Step::Dot {
                    input,
                    output,
                    slot,
                    ..
                } => (input, output, *slot),
                Step::Attention {
                    key, output, slot, ..
                } => (key, output, *slot),
                Step::QuantizedDot { .. } => {
                    self.run_quantized(step, tile, rows, total);
                    continue;
                }
                other => {
                    for row in tile.chunks_exact_mut(total) {
                        self.run_step(other, row);
                    }
                    continue;
                }
            };
            let affine = &self.slots[slot];
            let product = TileProduct::between(rows, input.clone(), output.clone(), total);
            if !packed_tile_product(tile, &affine.weights, product) {
                // Validation keeps these buffers apart, so this is unreachable; the per-sample
                // step is still the right answer if it ever were.
                for row in tile.chunks_exact_mut(total) {
                    self.run_step(step, row);
                }
                continue;
            }
            for row in tile.chunks_exact_mut(total) {
                finish_affine(step, row, output.clone(), &affine.bias);
            }
        }
    }
}

/// Adds the bias to a product row and applies what follows it in one pass over the values:
/// DOT's activation, or ATTENTION's softmax and product with the query.
#[inline]
fn finish_affine(step: &Step, row: &mut [f32], output: Range<usize>, bias: &[f32]) {
    let y = &mut row[output.clone()];
    match step {
        Step::Dot { kind, .. } => fast::activate(*kind, y, Some(bias)),
        Step::Attention { query, .. } => {
            fast::activate(Kind::Softmax, y, Some(bias));
            for i in 0..output.len() {
                row[output.start + i] *= row[query + i];
            }
        }
        _ => {}
    }
}
impl Interpreter {
    /// Runs `inputs` (`n × feature_size` values) and returns `n × output_size` outputs, with
    /// the engine and thread count of `config` (its result slice applies to
    /// [`predict_parallel`](Self::predict_parallel) only).
    pub fn predict_batch(
        &self,
        inputs: &[f32],
        config: PredictConfig,
    ) -> Result<Vec<f32>, PredictError> {
        let samples = self.sample_count(inputs)?;
        let out = self.output_start()..self.output_start() + self.output_size();
        let mut outputs = allocate(samples, out.len())?;
        self.run_many(inputs, &mut outputs, out, config)?;
        Ok(outputs)
    }

    /// Like [`predict_batch`](Self::predict_batch), into a caller-owned slice of exactly
    /// `n × output_size` values. Once warm it allocates nothing per sample; what it does
    /// allocate is one packing buffer per matrix product per tile (inside `matrixmultiply`'s
    /// sgemm) and, with several threads, one list of tiles per call.
    pub fn predict_batch_into(
        &self,
        inputs: &[f32],
        outputs: &mut [f32],
        config: PredictConfig,
    ) -> Result<(), PredictError> {
        let samples = self.sample_count(inputs)?;
        let expected = samples.saturating_mul(self.output_size());
        if outputs.len() != expected {
            return Err(PredictError::OutputLength {
                actual: outputs.len(),
                expected,
            });
        }
        let out = self.output_start()..self.output_start() + self.output_size();
        self.run_many(inputs, outputs, out, config)
    }

    /// Samples per tile of the batch engine.
    pub fn tile_rows(&self) -> usize {
        tile_rows(self.required_memory())
    }

    /// Bytes of scratch memory each thread of the batch engine keeps (its tile).
    pub fn batch_scratch_bytes(&self) -> usize {
        self.tile_rows() * self.required_memory() * std::mem::size_of::<f32>()
    }

    /// Number of samples in a flat batch.
    pub(crate) fn sample_count(&self, inputs: &[f32]) -> Result<usize, PredictError> {
        let fs = self.feature_size();
        if fs == 0 {
            return Err(PredictError::NoFeatures);
        }
        if !inputs.len().is_multiple_of(fs) {
            return Err(PredictError::RaggedBatch {
                actual: inputs.len(),
                feature_size: fs,
            });
        }
        Ok(inputs.len() / fs)
    }

    /// Runs every sample of `inputs` and copies `memory[keep]` of each into `outputs`.
    pub(crate) fn run_many(
        &self,
        inputs: &[f32],
        outputs: &mut [f32],
        keep: Range<usize>,
        config: PredictConfig,
    ) -> Result<(), PredictError> {
        let threads = config.threads();
        if threads == 0 {
            return Err(PredictError::ZeroThreads);
        }
        let (fs, width) = (self.feature_size(), keep.len());
        // Samples go in tiles for both engines (the per-sample engine then runs each row of a
        // tile on its own), so the work list is per tile, never per sample.
        let rows = balanced_rows(
            tile_rows(self.required_memory()),
            inputs.len() / fs.max(1),
            threads,
        );
        let per_sample = config.per_sample();
        let work =
            |(ins, outs): (&[f32], &mut [f32])| self.run_chunk(per_sample, ins, outs, keep.clone());
        let chunks = inputs
            .chunks(rows * fs)
            .zip(outputs.chunks_mut(rows * width));
        // Never more threads than tiles: a small batch runs here, on the calling thread.
        let threads = threads.min(inputs.len().div_ceil(rows * fs));
        if threads <= 1 {
            chunks.for_each(work);
        } else {
            let chunks: Vec<_> = chunks.collect();
            pool(threads)?.install(|| chunks.into_par_iter().for_each(work));
        }
        Ok(())
    }

    /// Runs one tile's worth of samples in this thread's tile memory.
    fn run_chunk(&self, per_sample: bool, inputs: &[f32], outputs: &mut [f32], keep: Range<usize>) {
        let (fs, total, width) = (self.feature_size(), self.required_memory(), keep.len());
        let rows = inputs.len() / fs;
        let chain = self.plan().chain.as_ref().filter(|chain| {
            // Per sample, always; in tiles, where faster. Measured (AVX-512, ns a sample, chain against tiles): dense layers of at most 16
            // outputs from at most 32 inputs are faster as a chain (2→7→1 15 against 27,
            // 2→7 tanh→1 29 against 50, iris 4→16→8→3 69 against 79); wider layers (8→32→32→1
            // 94 against 84) or elementwise steps with costly activations (4→10→6→1 with a
            // folded batch norm, costly activations: 131 against 94) are not.
            per_sample || (fs <= small_chain::MAX_WIDTH && chain.is_dense_chain_at_most(16))
        });
        if let Some(chain) = chain
            && keep == self.plan().output
        {
            // Only outputs asked for, and the model runs as a register chain: no memory at all.
            for (x, y) in inputs.chunks_exact(fs).zip(outputs.chunks_exact_mut(width)) {
                chain.run(x, y);
            }
            return;
        }
        if !per_sample
            && keep == self.plan().output
            && self.plan().dot_chain
            && self.plan().run_dot_chain(rows, inputs, outputs)
        {
            return;
        }
        TILE.with(|tile| {
            let mut tile = tile.borrow_mut();
            if tile.len() < rows * total {
                tile.resize(rows * total, 0.0);
            }
            for (row, x) in tile.chunks_exact_mut(total).zip(inputs.chunks_exact(fs)) {
                self.plan().prepare(row, x);
            }
            if per_sample {
                for row in tile.chunks_exact_mut(total).take(rows) {
                    self.plan().run(row);
                }
            } else {
                self.plan().run_tile(&mut tile, rows);
            }
            for (row, y) in tile
                .chunks_exact(total)
                .zip(outputs.chunks_exact_mut(width))
            {
                y.copy_from_slice(&row[keep.clone()]);
            }
        });
    }
}
