//! `chart`: throughput against p99 latency per system, drawn from the steps
//! file of `bench/compare.sh` into a PNG (plotters, bitmap backend, labels
//! in a TrueType font found on the system).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use crate::cli::ChartArgs;

/// Fonts tried when `--font` is not given.
const FONTS: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
];

/// Colours of the series, in order.
const COLOURS: [RGBColor; 6] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
];

/// One point: deliveries/s reached and p99 in ms, and whether the step
/// passed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Deliveries per second achieved.
    pub throughput: f64,
    /// p99 latency in milliseconds.
    pub p99_ms: f64,
    /// Whether the step passed.
    pub pass: bool,
}

/// Reads the steps file: tab-separated `system`, `offered`, `deliveries/s`,
/// `p99 µs`, `pass` (`#` lines and a header starting with `system` are
/// skipped); steps without a p99 are left out. Each system's points keep
/// the file's order.
///
/// # Errors
///
/// A line with fewer than five fields or numbers that do not parse.
pub fn parse_steps(text: &str) -> anyhow::Result<BTreeMap<String, Vec<Point>>> {
    let mut series: BTreeMap<String, Vec<Point>> = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') || line.starts_with("system\t") {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 5 {
            bail!("line {}: {} fields, expected at least 5", n + 1, f.len());
        }
        if f[3] == "null" || f[2] == "null" {
            continue;
        }
        let throughput: f64 = f[2]
            .parse()
            .with_context(|| format!("line {}: deliveries/s {:?}", n + 1, f[2]))?;
        let p99_us: f64 = f[3]
            .parse()
            .with_context(|| format!("line {}: p99 {:?}", n + 1, f[3]))?;
        series.entry(f[0].to_string()).or_default().push(Point {
            throughput,
            p99_ms: p99_us / 1000.0,
            pass: f[4] == "true",
        });
    }
    // Points stay in the file's order (the steps' offered rates, rising):
    // a step past a system's limit may achieve less than the one before,
    // and the line shows it turning back.
    Ok(series)
}

fn font_file(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(p) = given {
        return Ok(p.to_path_buf());
    }
    FONTS
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .context(
            "no TrueType font found for the chart's labels: pass --font FILE.ttf \
             (or apt-get install -y fonts-dejavu-core)",
        )
}

/// Runs `chart`.
///
/// # Errors
///
/// An unreadable or malformed steps file, no font, or a PNG that cannot be
/// written.
pub fn run(args: &ChartArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.steps)
        .with_context(|| format!("reading {}", args.steps.display()))?;
    let series = parse_steps(&text)?;
    if series.is_empty() {
        bail!("{} holds no step with a p99", args.steps.display());
    }
    let font = font_file(args.font.as_deref())?;
    let bytes = std::fs::read(&font).with_context(|| format!("reading {}", font.display()))?;
    register_font(
        "sans-serif",
        FontStyle::Normal,
        Box::leak(bytes.into_boxed_slice()),
    )
    .map_err(|_| anyhow::anyhow!("{} is not a usable TrueType font", font.display()))?;
    draw(&series, &args.title, &args.out)
        .with_context(|| format!("drawing {}", args.out.display()))?;
    eprintln!("chart written to {}", args.out.display());
    Ok(())
}

fn draw(series: &BTreeMap<String, Vec<Point>>, title: &str, out: &Path) -> anyhow::Result<()> {
    let all = series.values().flatten();
    let max_x = all.clone().map(|p| p.throughput).fold(1.0, f64::max) * 1.5;
    let min_x = all
        .clone()
        .map(|p| p.throughput)
        .fold(f64::INFINITY, f64::min)
        .clamp(1.0, max_x)
        / 1.5;
    let min_y = all
        .clone()
        .map(|p| p.p99_ms)
        .fold(f64::INFINITY, f64::min)
        .clamp(0.001, 1.0)
        / 2.0;
    let max_y = all.map(|p| p.p99_ms).fold(min_y * 10.0, f64::max) * 2.0;
    let root = BitMapBackend::new(out, (1000, 650)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(70)
        .y_label_area_size(70)
        .build_cartesian_2d((min_x..max_x).log_scale(), (min_y..max_y).log_scale())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    chart
        .configure_mesh()
        .x_desc("deliveries per second achieved (log)")
        .y_desc("p99 latency, ms (log)")
        .x_label_formatter(&|x| {
            if *x >= 1e6 {
                format!("{}M", x / 1e6)
            } else if *x >= 1e3 {
                format!("{}k", x / 1e3)
            } else {
                format!("{x}")
            }
        })
        .y_label_formatter(&|y| format!("{y}"))
        .x_labels(8)
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for (i, (name, points)) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let line: Vec<(f64, f64)> = points.iter().map(|p| (p.throughput, p.p99_ms)).collect();
        chart
            .draw_series(LineSeries::new(line, colour.stroke_width(2)))
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .label(name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        chart
            .draw_series(points.iter().map(|p| {
                let style = if p.pass {
                    colour.filled()
                } else {
                    colour.stroke_width(2)
                };
                Circle::new((p.throughput, p.p99_ms), 4, style)
            }))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 15))
        .draw()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    root.draw(&Text::new(
        "filled dot: step passed; open: failed",
        (90, 630),
        ("sans-serif", 13),
    ))
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    root.present().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_file_is_parsed() {
        let text = "system\toffered\tdeliveries\tp99_us\tpass\n\
                    redis\t1000\t1000.5\t800\ttrue\n\
                    ringport\t2000\t1999\t1500\tfalse\n\
                    ringport\t1000\t1000\t700\ttrue\n\
                    nats\t1000\tnull\tnull\tfalse\n";
        let s = parse_steps(text).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s["ringport"][0].throughput, 1999.0);
        assert!((s["ringport"][0].p99_ms - 1.5).abs() < 1e-9);
        assert!(!s["ringport"][0].pass);
        assert!(s["ringport"][1].pass);
        assert!(parse_steps("a\tb\n").is_err());
        assert!(parse_steps("a\tb\tc\td\te\n").is_err());
    }

    #[test]
    fn draws_a_png() {
        let Ok(font) = font_file(None) else {
            eprintln!("no system font: chart drawing not tested");
            return;
        };
        let bytes = std::fs::read(font).unwrap();
        register_font(
            "sans-serif",
            FontStyle::Normal,
            Box::leak(bytes.into_boxed_slice()),
        )
        .unwrap_or(());
        let s =
            parse_steps("a\t1\t1000\t500\ttrue\na\t2\t2000\t90000\tfalse\nb\t1\t900\t300\ttrue\n")
                .unwrap();
        let out = std::env::temp_dir().join(format!("ringport-chart-{}.png", std::process::id()));
        draw(&s, "test", &out).unwrap();
        let png = std::fs::read(&out).unwrap();
        assert_eq!(&png[..4], b"\x89PNG");
        let _ = std::fs::remove_file(out);
    }
}
