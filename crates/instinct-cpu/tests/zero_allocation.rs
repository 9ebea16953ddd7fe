//! The buffer API allocates nothing per sample: a counting global allocator proves it (this
//! thread's allocations only, so the test harness's own threads cannot be counted).

use instinct_cpu::Interpreter;
use instinct_format::{Limits, ModelInfo};
use instinct_workcount::{CountingAllocator, work};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

#[test]
fn predict_into_and_predict_with_buffer_do_not_allocate() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/instmodel-keras"
    );
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".json") || name.ends_with(".expected.json") || name == "index.json" {
            continue;
        }
        let info = ModelInfo::load(&path, &Limits::default()).unwrap();
        let model = instinct_validate::validate(&info, &Limits::default()).unwrap();
        let interpreter = Interpreter::new(&model);
        let inputs = info.validation_data.as_ref().unwrap().inputs.clone();
        let mut memory = vec![0.0f32; interpreter.required_memory()];
        let mut output = vec![0.0f32; interpreter.output_size()];
        // One warm-up sample: first uses may initialise process-wide state (the SIMD level).
        interpreter
            .predict_into(&inputs[0], &mut memory, &mut output)
            .unwrap();
        let count = work(|| {
            for x in &inputs {
                interpreter
                    .predict_into(x, &mut memory, &mut output)
                    .unwrap();
                memory[..x.len()].copy_from_slice(x);
                interpreter.predict_with_buffer(&mut memory).unwrap();
                interpreter.get_output(&memory, 0).unwrap();
            }
        })
        .calls;
        assert_eq!(count, 0, "{name}");
        checked += 1;
    }
    assert_eq!(checked, 9);
}
