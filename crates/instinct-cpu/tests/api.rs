//! The interpreter's API contract: sizes, errors instead of panics, no state between samples,
//! `Send + Sync`.

use instinct_cpu::{Interpreter, PredictConfig, PredictError};
use instinct_format::{Activation, Instruction, Limits, ModelBuilder};

fn interpreter() -> Interpreter {
    // 2 inputs -> 3 (relu) -> 2 (softmax)
    let info = ModelBuilder::with_features(["a", "b"])
        .dense(
            vec![vec![1.0, -1.0], vec![0.5, 0.5], vec![-1.0, 2.0]],
            vec![0.0, 0.1, -0.2],
            Some(Activation::Relu),
        )
        .dense(
            vec![vec![1.0, 0.0, -1.0], vec![0.0, 1.0, 1.0]],
            vec![0.0, 0.0],
            Some(Activation::Softmax),
        )
        .build()
        .unwrap();
    Interpreter::new(&instinct_validate::validate(&info, &Limits::default()).unwrap())
}

#[test]
fn sizes() {
    let m = interpreter();
    assert_eq!(
        (
            m.feature_size(),
            m.output_size(),
            m.required_memory(),
            m.output_start()
        ),
        (2, 2, 7, 5)
    );
}

#[test]
fn wrong_sizes_are_errors() {
    let m = interpreter();
    assert_eq!(
        m.predict(&[1.0]),
        Err(PredictError::InputLength {
            actual: 1,
            expected: 2
        })
    );
    assert_eq!(
        m.predict_single(&[1.0, 2.0, 3.0]),
        Err(PredictError::InputLength {
            actual: 3,
            expected: 2
        })
    );
    let mut small = vec![0.0; 6];
    assert_eq!(
        m.predict_with_buffer(&mut small),
        Err(PredictError::MemoryTooSmall {
            actual: 6,
            required: 7
        })
    );
    let mut memory = vec![0.0; 7];
    let mut out = vec![0.0; 3];
    assert_eq!(
        m.predict_into(&[1.0, 2.0], &mut memory, &mut out),
        Err(PredictError::OutputLength {
            actual: 3,
            expected: 2
        })
    );
    assert_eq!(
        m.get_output(&memory, 2),
        Err(PredictError::OutputIndex { index: 2, size: 2 })
    );
    assert_eq!(
        m.predict_parallel(&[1.0, 2.0, 3.0], PredictConfig::new()),
        Err(PredictError::RaggedBatch {
            actual: 3,
            feature_size: 2
        })
    );
    assert_eq!(
        m.predict_parallel(&[1.0, 2.0], PredictConfig::new().with_threads(0)),
        Err(PredictError::ZeroThreads)
    );
    assert_eq!(
        m.predict_parallel(
            &[1.0, 2.0],
            PredictConfig::new().with_slice_result_buffer(3, 9)
        ),
        Err(PredictError::SliceRange {
            start: 3,
            end: 9,
            memory: 7
        })
    );
}

#[test]
fn outputs_follow_the_formula() {
    let m = interpreter();
    // hidden = relu([1-2, 0.5+1+0.1, -1+4-0.2]) = [0, 1.6, 2.8]; logits = [-2.8, 4.4]
    let y = m.predict(&[1.0, 2.0]).unwrap();
    let e = (-2.8f32 - 4.4).exp();
    assert!(
        (y[0] - e / (1.0 + e)).abs() < 1e-6 && (y[1] - 1.0 / (1.0 + e)).abs() < 1e-6,
        "{y:?}"
    );
}

#[test]
fn stale_memory_never_leaks_into_a_prediction() {
    // A REDUCE_SUM writes only element 0 of the 3-wide buffer 1 (valid while nothing reads the
    // rest): a result slice over buffer 1 must show zeros there even when the caller's memory is
    // full of garbage from before.
    let info = ModelBuilder::with_feature_size(2)
        .buffer_sizes([2, 3, 2])
        .instruction(Instruction::ReduceSum {
            input: 0,
            output: 1,
        })
        .instruction(Instruction::Copy {
            input: 0,
            output: 2,
            internal_index: 0,
        })
        .build()
        .unwrap();
    let m = Interpreter::new(&instinct_validate::validate(&info, &Limits::default()).unwrap());
    let mut memory = vec![f32::NAN; 7];
    memory[..2].copy_from_slice(&[1.0, 2.0]);
    m.predict_with_buffer(&mut memory).unwrap();
    assert_eq!(memory[2..5], [3.0, 0.0, 0.0]);
    let batch = m
        .predict_parallel(
            &[1.0, 1.0, 2.0, 2.0, 3.0, 3.0],
            PredictConfig::new()
                .with_threads(2)
                .with_slice_result_buffer(2, 5),
        )
        .unwrap();
    assert_eq!(
        batch.as_slice(),
        &[2.0, 0.0, 0.0, 4.0, 0.0, 0.0, 6.0, 0.0, 0.0]
    );
}

#[test]
fn parallel_output_accessors() {
    let m = interpreter();
    let out = m
        .predict_parallel(
            &[1.0, 2.0, 0.0, 0.0],
            PredictConfig::new()
                .with_threads(2)
                .with_slice_result_buffer(2, 5),
        )
        .unwrap();
    assert_eq!((out.num_samples(), out.slice_size(), out.len()), (2, 3, 6));
    assert_eq!(out.get_result(0).unwrap(), &[0.0, 1.6, 2.8]);
    assert_eq!(
        out.get_result(2),
        Err(PredictError::SampleIndex {
            index: 2,
            samples: 2
        })
    );
    let mut dest = vec![0.0; 6];
    out.copy_results(&mut dest).unwrap();
    assert_eq!(dest, out.as_slice());
    assert!(out.copy_results(&mut [0.0; 5]).is_err());
    let empty = m.predict_parallel(&[], PredictConfig::new()).unwrap();
    assert_eq!(empty.num_samples(), 0);
}

#[test]
fn interpreters_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Interpreter>();
    let m = interpreter();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| m.predict(&[0.5, 0.5]).unwrap());
        }
    });
}

#[cfg(target_os = "linux")]
#[test]
fn varying_thread_counts_do_not_pile_up_threads() {
    fn live_threads() -> usize {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("Threads:")).unwrap();
        line[8..].trim().parse().unwrap()
    }
    let m = interpreter();
    // Enough samples for several tiles, so the pool is really used.
    let rows = m.tile_rows() * 4;
    let inputs = vec![0.5f32; rows * m.feature_size()];
    for threads in 2..=12 {
        m.predict_parallel(&inputs, PredictConfig::new().with_threads(threads))
            .unwrap();
        // One sample never needs a pool at all.
        m.predict_parallel(&[0.5, 0.5], PredictConfig::new().with_threads(threads))
            .unwrap();
    }
    // One pool of at most 4 threads (as many as tiles) may be alive, plus the test harness'.
    // Threads of replaced pools exit asynchronously; give them a moment.
    let mut live = live_threads();
    for _ in 0..50 {
        if live <= 8 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        live = live_threads();
    }
    assert!(live <= 8, "{live} threads alive");
}
