//! Structured logs with `tracing`: `MINGLE_LOG` filters, `MINGLE_LOG_FORMAT` picks JSON
//! (one object a line, with the request span's `correlation_id`) or pretty text.
//! Logs go to stderr, so a command's `--json` output on stdout stays clean.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

pub fn init(filter: &str, format: LogFormat) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|e| {
        eprintln!("mingle: invalid MINGLE_LOG filter '{filter}' ({e}); using 'info'");
        EnvFilter::new("info")
    });
    // Colours only on a terminal: a log file or collector gets no escape codes.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    let _ = match format {
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}
