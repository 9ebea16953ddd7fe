//! The PNG or SVG of `instinct train --plot`: training (and validation) loss per epoch on the
//! left, the validation metric on the right, drawn with plotters and an embedded DejaVu Sans.

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

/// The image formats `--plot` writes, by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ImageFormat {
    Png,
    Svg,
}

fn image_format(path: &Path) -> Option<ImageFormat> {
    let extension = path.extension()?.to_str()?.to_ascii_lowercase();
    match extension.as_str() {
        "png" => Some(ImageFormat::Png),
        "svg" => Some(ImageFormat::Svg),
        _ => None,
    }
}

/// Refuses a `--plot` path whose extension names no format we write (before training starts).
pub fn check_extension(path: &Path) -> crate::failure::Outcome {
    match image_format(path) {
        Some(_) => Ok(()),
        None => Err(crate::failure::Failure::unreadable(anyhow::anyhow!(
            "--plot {}: the file must end in .png or .svg",
            path.display()
        ))),
    }
}

/// Draws `history` to `path` as PNG or SVG (by its extension), written whole and then put in
/// place like every output file, so no partial file is left on failure.
pub fn loss_curves(path: &Path, history: &History, metric: &str) -> anyhow::Result<()> {
    register_font();
    let size = (1000, 420);
    let bytes = match image_format(path) {
        Some(ImageFormat::Svg) => {
            let mut text = String::new();
            draw(
                SVGBackend::with_string(&mut text, size).into_drawing_area(),
                history,
                metric,
            )?;
            text.into_bytes()
        }
        Some(ImageFormat::Png) => {
            // The PNG encoder writes to a path: a private temporary file, read back.
            let tmp = std::env::temp_dir().join(format!(
                "instinct-plot-{}-{}.png",
                std::process::id(),
                path.file_stem().and_then(|s| s.to_str()).unwrap_or("plot")
            ));
            let drawn = draw(
                BitMapBackend::new(&tmp, size).into_drawing_area(),
                history,
                metric,
            )
            .and_then(|()| Ok(std::fs::read(&tmp)?));
            let _ = std::fs::remove_file(&tmp);
            drawn.map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
        None => anyhow::bail!("{}: the file must end in .png or .svg", path.display()),
    };
    instinct::format::write_atomically(path, &bytes).map_err(anyhow::Error::from)
}

type Chart<'a, DB> = ChartContext<
    'a,
    DB,
    Cartesian2d<plotters::coord::types::RangedCoordf32, plotters::coord::types::RangedCoordf32>,
>;

fn failed(e: &dyn std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("plotting failed: {e}")
}

/// A panel titled `caption` over epochs 1..=`epochs` and `values`' range, with its mesh.
fn panel<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, plotters::coord::Shift>,
    caption: &str,
    epochs: f32,
    values: impl Iterator<Item = f32>,
) -> anyhow::Result<Chart<'a, DB>> {
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

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    history: &History,
    metric: &str,
) -> anyhow::Result<()> {
    let epochs = history.epochs.len().max(2) as f32;
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
