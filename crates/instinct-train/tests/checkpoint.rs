//! Checkpoints round-trip every parameter and running statistic; a checkpoint of another
//! network, or a damaged file, is refused and leaves the network as it was.

use instinct_train::checkpoint::{load, save};
use instinct_train::nn::{BatchNorm, Init, Layer, Linear, Sequential};
use instinct_train::{Activation, CpuBackend, Rng, Tensor, predict};
use std::sync::Arc;

fn net(seed: u64) -> Sequential {
    let mut rng = Rng::new(seed);
    let net = Sequential::new(vec![
        Layer::Linear(Linear::new(3, 5, Init::He, &mut rng)),
        Layer::BatchNorm(BatchNorm::new(5)),
        Layer::Activation(Activation::Relu),
        Layer::Linear(Linear::new(5, 2, Init::Glorot, &mut rng)),
    ]);
    if let Layer::BatchNorm(bn) = &net.layers[1] {
        *bn.running.borrow_mut() = (
            vec![0.1, -0.2, 0.3, 0.0, 0.5],
            vec![1.5, 0.5, 2.0, 1.0, 0.7],
        );
    }
    net
}

fn outputs(net: &Sequential) -> Vec<f32> {
    let x = Tensor::new(&[2, 3], vec![0.5, -1.0, 2.0, 1.5, 0.0, -0.5]).unwrap();
    predict(net, Arc::new(CpuBackend), &x).unwrap().into_data()
}

fn temp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("instinct-checkpoint-{}-{name}", std::process::id()))
}

#[test]
fn a_checkpoint_restores_the_same_outputs() {
    let trained = net(1);
    let path = temp("roundtrip.safetensors");
    save(&trained, &path).unwrap();
    let mut fresh = net(2);
    assert_ne!(outputs(&fresh), outputs(&trained));
    load(&mut fresh, &path).unwrap();
    assert_eq!(outputs(&fresh), outputs(&trained));
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn another_network_or_a_damaged_file_is_refused() {
    let path = temp("other.safetensors");
    save(&net(1), &path).unwrap();
    let mut rng = Rng::new(3);
    let mut other = Sequential::mlp(&[3, 4, 2], Activation::Tanh, &mut rng);
    let before = other.clone();
    let e = load(&mut other, &path).unwrap_err();
    assert!(e.to_string().contains("layers.0.weight"), "{e}");
    assert_eq!(other, before);
    let bytes = std::fs::read(&path).unwrap();
    for cut in [0, 7, 8, 20, bytes.len() - 1] {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let mut n = net(4);
        let kept = n.clone();
        assert!(load(&mut n, &path).is_err(), "truncated to {cut} bytes");
        assert_eq!(n, kept);
    }
    let e = load(&mut net(4), &temp("missing.safetensors")).unwrap_err();
    assert!(e.to_string().contains("missing.safetensors"), "{e}");
    std::fs::remove_file(&path).unwrap();
}
