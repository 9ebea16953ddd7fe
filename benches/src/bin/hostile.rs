//! Times the loaders on hostile inputs built in memory (ONNX chains, shared initializers, models
//! of many activations or long input lists, huge weight counts) and prints each case's time and
//! the process's peak RSS; one case per run, so peak memory is the case's own:
//! `cargo run --release -p instinct-benches --bin hostile -- CASE` (no CASE lists them).

use instinct::Limits;
use instinct::format::ModelInfo;
use instinct::onnx::proto::{
    GraphProto, ModelProto, NodeProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
    tensor_shape_proto, type_proto,
};
use prost::Message;
use std::fmt::Write as _;
use std::time::Instant;

/// A named case: builds its input, runs the loader and says what happened.
type Case = (&'static str, fn() -> String);

fn main() {
    let case = std::env::args().nth(1).unwrap_or_default();
    let cases: [Case; 8] = [
        ("onnx-chain-10k", || onnx_chain(10_000)),
        ("onnx-chain-100k", || onnx_chain(100_000)),
        ("onnx-shared-initializer", onnx_shared_initializer),
        ("wgsl-20k-activations", || wgsl(&activations_model(20_000))),
        ("wgsl-170kb-dots", || wgsl(&dots_model())),
        ("validate-long-lists", validate_long_lists),
        ("refuse-10m-weights", refuse_10m_weights),
        ("validate-100k-instructions", validate_many_instructions),
    ];
    let Some((name, run)) = cases.iter().find(|(n, _)| *n == case) else {
        eprintln!("cases:");
        for (n, _) in &cases {
            eprintln!("  {n}");
        }
        std::process::exit(2);
    };
    let started = Instant::now();
    let outcome = run();
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{name}: {seconds:.3} s, peak RSS {} MB: {outcome}",
        peak_rss_mb()
    );
}

/// The process's peak resident set (VmHWM), in MB.
fn peak_rss_mb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

fn tensor_input(name: &str, width: i64) -> ValueInfoProto {
    let dim = |v: Option<i64>| tensor_shape_proto::Dimension {
        value: v.map(tensor_shape_proto::dimension::Value::DimValue),
        ..Default::default()
    };
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(1),
                shape: Some(TensorShapeProto {
                    dim: vec![dim(None), dim(Some(width))],
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn node(op: &str, inputs: &[String], output: &str) -> NodeProto {
    NodeProto {
        op_type: Some(op.into()),
        name: Some(format!("{op}_{output}")),
        input: inputs.to_vec(),
        output: vec![output.to_string()],
        ..Default::default()
    }
}

fn graph(width: i64, nodes: Vec<NodeProto>, initializers: Vec<TensorProto>, out: &str) -> Vec<u8> {
    ModelProto {
        graph: Some(GraphProto {
            node: nodes,
            initializer: initializers,
            input: vec![tensor_input("x", width)],
            output: vec![ValueInfoProto {
                name: Some(out.into()),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

fn import(bytes: &[u8]) -> String {
    match instinct::onnx::import_bytes(bytes) {
        Ok(info) => format!(
            "converted ({} instructions, {} KB of ONNX)",
            info.instructions.len(),
            bytes.len() / 1024
        ),
        Err(e) => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default().to_string();
            format!("refused ({} KB of ONNX): {first}", bytes.len() / 1024)
        }
    }
}

/// `n` Relu nodes in a row over 4 features.
fn onnx_chain(n: usize) -> String {
    let nodes = (0..n)
        .map(|i| {
            let from = if i == 0 {
                "x".to_string()
            } else {
                format!("v{i}")
            };
            node("Relu", &[from], &format!("v{}", i + 1))
        })
        .collect();
    import(&graph(4, nodes, Vec::new(), &format!("v{n}")))
}

/// 1,200 Mul nodes in a row, each by the same 1,000,000-value (4 MB) initializer.
fn onnx_shared_initializer() -> String {
    let width = 1_000_000usize;
    let constant = TensorProto {
        name: Some("c".into()),
        dims: vec![width as i64],
        data_type: Some(1),
        raw_data: Some(vec![0u8; width * 4].into_iter().map(|_| 0x3f).collect()),
        ..Default::default()
    };
    let nodes = (0..1200)
        .map(|i| {
            let from = if i == 0 {
                "x".to_string()
            } else {
                format!("v{i}")
            };
            node("Mul", &[from, "c".into()], &format!("v{}", i + 1))
        })
        .collect();
    import(&graph(width as i64, nodes, vec![constant], "v1200"))
}

/// A 16-wide DOT followed by `n` ACTIVATION instructions cycling through the activations.
fn activations_model(n: usize) -> ModelInfo {
    // The elementwise activations of instmodel's twelve.
    let names: Vec<&str> = instinct::format::Activation::INSTMODEL
        .into_iter()
        .filter(|a| a.is_elementwise())
        .map(instinct::format::Activation::name)
        .collect();
    let mut json = String::from(
        r#"{"feature_size": 16, "buffer_sizes": [16, 16], "instructions": [{"type": "DOT", "input": 0, "output": 1, "weights": 0}"#,
    );
    for i in 0..n {
        let _ = write!(
            json,
            r#", {{"type": "ACTIVATION", "input": 1, "activation": "{}"}}"#,
            names[i % names.len()]
        );
    }
    let row = vec!["0.01"; 16].join(",");
    let weights = vec![format!("[{row}]"); 16].join(",");
    let _ = write!(json, r#"], "weights": [[{weights}]], "bias": [[{row}]]}}"#);
    ModelInfo::from_json_str(&json).expect("a well-formed model")
}

/// A 170 KB model: 3,700 16 × 16 DOTs back and forth between two buffers through one shared
/// weight slot (each small enough to be unrolled).
fn dots_model() -> ModelInfo {
    let dots = 3700;
    let mut instructions = vec![r#"{"type":"DOT","input":0,"output":2,"weights":0}"#.to_string()];
    for i in 1..dots {
        let (from, to) = if i % 2 == 1 { (2, 1) } else { (1, 2) };
        instructions.push(format!(
            r#"{{"type":"DOT","input":{from},"output":{to},"weights":1}}"#
        ));
    }
    // The output is the last buffer: end on a DOT into buffer 2.
    if dots % 2 == 0 {
        instructions.push(r#"{"type":"DOT","input":1,"output":2,"weights":1}"#.to_string());
    }
    let w = |rows: usize, cols: usize| {
        let row = format!("[{}]", vec!["0.01"; cols].join(","));
        format!("[{}]", vec![row; rows].join(","))
    };
    let b = |n: usize| format!("[{}]", vec!["0"; n].join(","));
    let json = format!(
        r#"{{"feature_size":16,"buffer_sizes":[16,16,16],"instructions":[{}],"weights":[{},{}],"bias":[{},{}]}}"#,
        instructions.join(","),
        w(16, 16),
        w(16, 16),
        b(16),
        b(16)
    );
    eprintln!("model JSON: {} KB", json.len() / 1024);
    ModelInfo::from_json_str(&json).expect("a well-formed model")
}

/// Validation, blob, specialised WGSL and naga's check of the standalone shader.
fn wgsl(info: &ModelInfo) -> String {
    let model = match instinct::validate::validate(info, &Limits::default()) {
        Ok(m) => m,
        Err(e) => return format!("refused by validation: {}", e.0.len()),
    };
    let blob = match instinct::wgsl::GpuModel::from_model(&model) {
        Ok(b) => b,
        Err(e) => return format!("no blob: {e}"),
    };
    let library = instinct::wgsl::specialized_library(&blob);
    let source = instinct::wgsl::standalone_shader(&library);
    match instinct::wgsl::validate_wgsl(&source) {
        Ok(_) => format!("{} KB of WGSL, validated by naga", source.len() / 1024),
        Err(e) => format!("naga refused it: {e}"),
    }
}

/// A 40 MB model: one ADD_ELEMENTWISE_BUFFERS whose input list names buffer 0 twenty million
/// times, parsed and validated.
fn validate_long_lists() -> String {
    let entries = 20_000_000;
    let mut json = String::with_capacity(entries * 2 + 200);
    json.push_str(r#"{"feature_size": 4, "buffer_sizes": [4, 4], "instructions": [{"type": "ADD_ELEMENTWISE_BUFFERS", "output": 1, "input": ["#);
    for i in 0..entries {
        json.push_str(if i == 0 { "0" } else { ",0" });
    }
    json.push_str(r#"]}], "weights": [], "bias": []}"#);
    let mb = json.len() / 1_000_000;
    parse_and_validate(json.as_bytes(), mb)
}

/// A model of 10,000,001 weights (one 3163 × 3163 slot), refused by the weight limit.
fn refuse_10m_weights() -> String {
    let n = 3163;
    let row = format!("[{}]", vec!["0.5"; n].join(","));
    let json = format!(
        r#"{{"feature_size": {n}, "buffer_sizes": [{n}, {n}], "instructions": [{{"type": "DOT", "input": 0, "output": 1, "weights": 0}}], "weights": [[{}]], "bias": [[{}]]}}"#,
        vec![row; n].join(","),
        vec!["0"; n].join(",")
    );
    let mb = json.len() / 1_000_000;
    parse_and_validate(json.as_bytes(), mb)
}

/// 100,000 instructions (COPYs into one buffer and out again), parsed and validated.
fn validate_many_instructions() -> String {
    let n = 100_000;
    let mut json = String::from(r#"{"feature_size": 1, "buffer_sizes": [1, 1], "instructions": ["#);
    for i in 0..n {
        if i > 0 {
            json.push(',');
        }
        json.push_str(r#"{"type": "ACTIVATION", "input": 0, "activation": "RELU"}"#);
    }
    json.push_str(r#", {"type": "COPY", "input": 0, "output": 1, "internal_index": 0}], "weights": [], "bias": []}"#);
    let mb = json.len() / 1_000_000;
    parse_and_validate(json.as_bytes(), mb)
}

fn parse_and_validate(bytes: &[u8], mb: usize) -> String {
    let limits = Limits::default();
    let info = match ModelInfo::from_json_slice(bytes, &limits) {
        Ok(info) => info,
        Err(e) => return format!("{mb} MB refused while parsing: {e}"),
    };
    match instinct::validate::validate_owned(info, &limits) {
        Ok(_) => format!("{mb} MB valid"),
        Err(problems) => format!(
            "{mb} MB refused: {}",
            problems
                .0
                .first()
                .map(|d| d.to_string())
                .unwrap_or_default()
        ),
    }
}
