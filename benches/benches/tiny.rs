//! Criterion benchmarks of single-sample latency on the tiny nets:
//! `cargo bench -p instinct-benches --bench tiny`.

// criterion's macros define undocumented items.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use instinct::{Mlp2, Mlp3, Model};
use instinct_benches::{inputs, model_path};
use std::hint::black_box;

fn tiny(c: &mut Criterion) {
    let m = Model::load(model_path("tiny_2_7_tanh_1")).unwrap();
    let net = Mlp2::<2, 7, 1>::from_model(m.valid()).unwrap();
    let x: [f32; 2] = inputs(2, 3).try_into().unwrap();
    c.bench_function("2-7-tanh-1 static", |b| {
        b.iter(|| net.forward(black_box(&x)))
    });
    let (mut mem, mut out) = (vec![0.0; m.required_memory()], [0.0f32]);
    c.bench_function("2-7-tanh-1 interpreter", |b| {
        b.iter(|| m.predict_into(black_box(&x), &mut mem, &mut out).unwrap())
    });
    let m = Model::load(model_path("tiny_8_32_32_1")).unwrap();
    let net = Mlp3::<8, 32, 32, 1>::from_model(m.valid()).unwrap();
    let x: [f32; 8] = inputs(8, 5).try_into().unwrap();
    c.bench_function("8-32-32-1 static", |b| {
        b.iter(|| net.forward(black_box(&x)))
    });
    let (mut mem, mut out) = (vec![0.0; m.required_memory()], [0.0f32]);
    c.bench_function("8-32-32-1 interpreter", |b| {
        b.iter(|| m.predict_into(black_box(&x), &mut mem, &mut out).unwrap())
    });
    // The peer on the same models, in the same run.
    for (name, n) in [("tiny_2_7_tanh_1", 2), ("tiny_8_32_32_1", 8)] {
        let text = std::fs::read_to_string(model_path(name)).unwrap();
        let theirs =
            instmodel_inference::InstructionModel::new(serde_json::from_str(&text).unwrap())
                .unwrap();
        let x = inputs(n, 3);
        let mut memory = vec![0.0f32; theirs.required_memory()];
        c.bench_function(&format!("{name} instmodel_inference"), |b| {
            b.iter(|| {
                memory[..n].copy_from_slice(black_box(&x));
                theirs.predict_with_buffer(&mut memory).unwrap();
                theirs.get_output(&memory, 0)
            })
        });
    }
}

criterion_group!(benches, tiny);
criterion_main!(benches);
