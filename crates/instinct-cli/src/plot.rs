//! The PNG of `instinct train --plot`: training (and validation) loss per epoch on the left, the
//! validation metric on the right, drawn with plotters and an embedded DejaVu Sans.

use instinct::train::History;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are a valid font; a failure would only leave text unrendered.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}

/// The range of `values` with a margin, never empty.
fn range(values: impl Iterator<Item = f32>) -> std::ops::Range<f32> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return 0.0..1.0;
    }
    let pad = ((hi - lo) * 0.05).max(1e-6);
    (lo - pad)..(hi + pad)
}

/// Draws `history` to `path` (PNG), written beside it first and renamed, so no partial file is
/// left on failure.
pub fn loss_curves(path: &Path, history: &History, metric: &str) -> anyhow::Result<()> {
    register_font();
    let tmp = path.with_extension(format!("partial-{}.png", std::process::id()));
    let result = draw(&tmp, history, metric).and_then(|()| Ok(std::fs::rename(&tmp, path)?));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

type Chart<'a, 'b> = ChartContext<
    'a,
    BitMapBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf32, plotters::coord::types::RangedCoordf32>,
>;

fn failed(e: &dyn std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("plotting failed: {e}")
}

/// A panel titled `caption` over epochs 1..=`epochs` and `values`' range, with its mesh.
fn panel<'a, 'b>(
    area: &'a DrawingArea<BitMapBackend<'b>, plotters::coord::Shift>,
    caption: &str,
    epochs: f32,
    values: impl Iterator<Item = f32>,
) -> anyhow::Result<Chart<'a, 'b>> {
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(1f32..epochs, range(values))
        .map_err(|e| failed(&e))?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .draw()
        .map_err(|e| failed(&e))?;
    Ok(chart)
}

fn draw(path: &Path, history: &History, metric: &str) -> anyhow::Result<()> {
    let epochs = history.epochs.len().max(2) as f32;
    let root = BitMapBackend::new(path, (1000, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| failed(&e))?;
    let (left, right) = root.split_horizontally(500);
    let series = |f: &dyn Fn(&instinct::train::EpochReport) -> Option<f32>| -> Vec<(f32, f32)> {
        history
            .epochs
            .iter()
            .filter_map(|r| f(r).map(|v| (r.epoch as f32, v)))
            .collect()
    };
    let training = series(&|r| Some(r.train_loss));
    let validation = series(&|r| r.validation_loss);
    let losses = training.iter().chain(&validation).map(|p| p.1);
    let mut chart = panel(&left, "loss", epochs, losses)?;
    for (points, color, label) in [
        (training.clone(), BLUE, "training"),
        (validation, RED, "validation"),
    ] {
        if points.is_empty() {
            continue;
        }
        chart
            .draw_series(LineSeries::new(points, &color))
            .map_err(|e| failed(&e))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], color));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| failed(&e))?;
    let metrics = series(&|r| r.validation_metric);
    let mut chart = panel(
        &right,
        &format!("validation {metric}"),
        epochs,
        metrics.iter().map(|p| p.1),
    )?;
    chart
        .draw_series(LineSeries::new(metrics, &RED))
        .map_err(|e| failed(&e))?;
    root.present().map_err(|e| failed(&e))?;
    Ok(())
}
