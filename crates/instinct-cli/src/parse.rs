//! The values of command-line options that clap cannot check alone: thread counts, sample
//! counts, rates, fractions, error bounds, percentiles and data formats, each refused with what
//! it must be.

// More threads than instinct::MAX_THREADS is surely a typo, and spawning them could fail, so
// it is refused up front.
use instinct::MAX_THREADS;

pub(crate) fn parse_threads(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (1..=MAX_THREADS).contains(&n) => Ok(n),
        _ => Err(format!("expected a whole number from 1 to {MAX_THREADS}")),
    }
}

pub(crate) fn parse_samples(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("expected a whole number of at least 1".to_string()),
    }
}

pub(crate) fn parse_rate(text: &str) -> Result<f32, String> {
    match text.parse::<f32>() {
        Ok(x) if x > 0.0 && x.is_finite() => Ok(x),
        _ => Err("expected a positive learning rate".to_string()),
    }
}

pub(crate) fn parse_non_negative(text: &str) -> Result<f32, String> {
    match text.parse::<f32>() {
        Ok(x) if x >= 0.0 && x.is_finite() => Ok(x),
        _ => Err("expected a finite number of at least 0".to_string()),
    }
}

pub(crate) fn parse_fraction(text: &str) -> Result<f32, String> {
    match text.parse::<f32>() {
        Ok(x) if (0.0..1.0).contains(&x) => Ok(x),
        _ => Err("expected a fraction in [0, 1)".to_string()),
    }
}

pub(crate) fn parse_format(text: &str) -> Result<instinct_io::DataFormat, String> {
    instinct_io::DataFormat::from_name(text).ok_or_else(|| {
        let names: Vec<&str> = instinct_io::DataFormat::ALL
            .iter()
            .map(|f| f.name())
            .collect();
        format!("expected one of {}", names.join(", "))
    })
}

pub(crate) fn parse_error_bound(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if x >= 0.0 && x.is_finite() => Ok(x),
        _ => Err("expected a finite number of at least 0".to_string()),
    }
}

pub(crate) fn parse_percentile(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(p) if p > 50.0 && p <= 100.0 => Ok(p),
        _ => Err("expected a percentile above 50 and at most 100".to_string()),
    }
}
