//! Bad input never panics: thousands of randomly corrupted models (numbers replaced, elements and
//! keys removed, instruction types swapped) go through parsing, validation and, when they still
//! load, prediction. Every outcome must be a value or a typed error.

use instinct::{LoadError, Model, PredictConfig};
use instinct_conformance::random_model::{Rng, random_case};
use serde_json::Value;

#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

fn paths(v: &Value, at: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    out.push(at.clone());
    match v {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                at.push(Step::Index(i));
                paths(item, at, out);
                at.pop();
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                at.push(Step::Key(k.clone()));
                paths(item, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn get<'a>(v: &'a mut Value, path: &[Step]) -> &'a mut Value {
    path.iter().fold(v, |v, s| match s {
        Step::Key(k) => &mut v[k.as_str()],
        Step::Index(i) => &mut v[*i],
    })
}

/// The format's instruction types and one it does not have.
fn types() -> Vec<&'static str> {
    let mut all = instinct::format::Instruction::TYPE_NAMES.to_vec();
    all.push("CONV2D");
    all
}

fn corrupt(v: &mut Value, rng: &mut Rng) {
    let mut all = Vec::new();
    paths(v, &mut Vec::new(), &mut all);
    let path = all[rng.below(all.len())].clone();
    let target = get(v, &path);
    match target {
        Value::Number(_) => {
            let replacements = [
                0.0, 1.0, 2.0, 3.0, 5.0, 7.0, 64.0, 1e9, 1e13, -1.0, 0.5, 1e39, -1e39,
            ];
            *target = serde_json::json!(replacements[rng.below(replacements.len())]);
        }
        Value::Array(items) if !items.is_empty() => {
            let i = rng.below(items.len());
            if rng.chance(0.5) {
                items.remove(i);
            } else {
                let copy = items[i].clone();
                items.insert(i, copy);
            }
        }
        Value::Object(map) if !map.is_empty() => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let key = &keys[rng.below(keys.len())];
            if key == "type" {
                let types = types();
                map.insert(key.clone(), Value::from(types[rng.below(types.len())]));
            } else {
                map.remove(key);
            }
        }
        Value::String(s) => {
            // Activation names, feature names, map keys are strings.
            *s = ["RELU", "relu", "x[0]", "y[2]", "", "SOFTMAX", "-3"][rng.below(7)].to_string();
        }
        _ => {}
    }
}

#[test]
fn corrupted_models_never_panic() {
    let (mut loaded, mut refused) = (0, 0);
    for seed in 0..3000u64 {
        let mut rng = Rng::new(seed ^ 0xBAD_F00D);
        let case = random_case(seed, 2);
        let mut v = serde_json::to_value(&case.info).unwrap();
        for _ in 0..rng.range(1, 3) {
            corrupt(&mut v, &mut rng);
        }
        let text = v.to_string();
        match Model::from_json_str(&text) {
            Ok(model) => {
                loaded += 1;
                let x: Vec<f32> = (0..model.feature_size())
                    .map(|_| rng.uniform(-3.0, 3.0))
                    .collect();
                let y = model.predict(&x).unwrap();
                assert_eq!(y.len(), model.output_size());
                let batch: Vec<f32> = x.iter().chain(&x).copied().collect();
                if model.feature_size() > 0 {
                    let out = model
                        .predict_parallel(&batch, PredictConfig::new().with_threads(2))
                        .unwrap();
                    let bits = |r: &[f32]| r.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                    assert_eq!(
                        bits(out.get_result(1).unwrap()),
                        bits(out.get_result(0).unwrap())
                    );
                }
                assert!(model.predict(&batch).is_err());
                let _ = instinct_conformance::reference::run_f64(model.valid(), &x);
            }
            Err(LoadError::Invalid(problems)) => {
                refused += 1;
                assert!(!problems.is_empty());
                assert!(!problems.to_string().is_empty());
            }
            Err(LoadError::Format(e)) => {
                refused += 1;
                assert!(!e.to_string().is_empty());
            }
        }
    }
    eprintln!("corrupted models: {loaded} still valid and ran, {refused} refused with an error");
    assert!(
        refused > 1000 && loaded > 100,
        "the corruptions should exercise both paths"
    );
}
