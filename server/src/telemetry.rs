//! Logging and tracing, set up once per process.
//!
//! - stdout: one JSON object per line with the seed's `StructuredFormatter` fields
//!   (`timestamp`, `level`, `logger`, `message`, `module`, `function`, `line`, plus
//!   `correlation_id`, `user_id`, `trace_id`, `agent_id`, `task_id` when a surrounding span
//!   carries them, and `exception` for events with an `error` field), or human-readable
//!   lines with `KEIKO_LOG_FORMAT=pretty`.
//! - `<data dir>/audit.log`: the seed's `keiko.audit` file handler: WARNING and above, plus
//!   every event logged to a `keiko.audit*` target, in the same JSON format.
//! - the embedded log store: the same JSON lines, batched off the logging thread
//!   (`logs::selflog`), so the portal's own lines are searchable.
//! - OpenTelemetry: every span is an OTel span, so trace ids exist even when nothing is
//!   exported; spans are exported by OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set,
//!   and go to the portal's own span store otherwise (`traces::selfspans`).

use std::fmt::Debug;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use anyhow::Context as _;
use chrono::{SecondsFormat, Utc};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{span, Event, Level, Subscriber};
use tracing_subscriber::filter::{filter_fn, EnvFilter};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use crate::config::{Config, LogFormat};

/// Target of the audit logger, as the seed names it.
pub const AUDIT_TARGET: &str = "keiko.audit";

/// Span fields copied onto every log line emitted inside the span.
const CONTEXT_FIELDS: [&str; 5] = [
    "correlation_id",
    "user_id",
    "trace_id",
    "agent_id",
    "task_id",
];

/// Keeps the tracer provider alive; `shutdown` flushes spans not yet exported.
pub struct Telemetry {
    provider: SdkTracerProvider,
}

impl Telemetry {
    pub fn shutdown(self) {
        if let Err(err) = self.provider.shutdown() {
            eprintln!("keiko-portal: flushing traces failed: {err}");
        }
    }
}

/// Installs the global subscriber. Call once, before anything logs.
pub fn init(config: &Config) -> anyhow::Result<Telemetry> {
    let exporting = std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some();
    let provider = tracer_provider(exporting)?;
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    opentelemetry::global::set_tracer_provider(provider.clone());
    let otel = tracing_opentelemetry::layer().with_tracer(provider.tracer("keiko-portal"));

    let filter = EnvFilter::try_new(&config.log_level)
        .with_context(|| format!("log_level `{}` is not a valid filter", config.log_level))?;

    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data dir {}", config.data_dir.display()))?;
    let audit =
        JsonLines::new(Sink::file(&config.audit_log_path())?).with_filter(filter_fn(|meta| {
            meta.is_span()
                || *meta.level() <= Level::WARN
                || meta.target().starts_with(AUDIT_TARGET)
        }));

    let stdout_json = (config.log_format == LogFormat::Json).then(|| JsonLines::new(Sink::Stdout));
    let stdout_pretty = (config.log_format == LogFormat::Pretty)
        .then(|| tracing_subscriber::fmt::layer().with_target(true));

    tracing_subscriber::registry()
        .with(filter)
        .with(SpanFieldsLayer)
        .with(otel)
        .with(stdout_json)
        .with(stdout_pretty)
        .with(audit)
        .with(JsonLines::new(Sink::LogStore))
        .try_init()
        .context("installing the tracing subscriber")?;
    tracing::info!(otlp_export = exporting, "Tracing configured");
    Ok(Telemetry { provider })
}

fn tracer_provider(exporting: bool) -> anyhow::Result<SdkTracerProvider> {
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name("keiko-portal")
        .build();
    let mut builder = SdkTracerProvider::builder().with_resource(resource);
    if exporting {
        use opentelemetry_otlp::WithExportConfig as _;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .build()
            .context("building the OTLP span exporter")?;
        builder = builder.with_batch_exporter(exporter);
    } else {
        builder = builder.with_batch_exporter(crate::traces::selfspans::SelfSpanExporter);
    }
    Ok(builder.build())
}

/// The fields recorded on a span, kept in its extensions for the log layers to read.
#[derive(Default)]
struct SpanFields(Map<String, Value>);

/// Records span fields once, for every log layer.
struct SpanFieldsLayer;

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for SpanFieldsLayer {
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        let mut fields = SpanFields::default();
        attrs.record(&mut JsonVisitor(&mut fields.0));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(fields) = span.extensions_mut().get_mut::<SpanFields>() {
                values.record(&mut JsonVisitor(&mut fields.0));
            }
        }
    }
}

struct JsonVisitor<'a>(&'a mut Map<String, Value>);

impl Visit for JsonVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0
            .insert(field.name().to_owned(), Value::from(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0
            .insert(field.name().to_owned(), Value::from(format!("{value:?}")));
    }
}

enum Sink {
    Stdout,
    File(Mutex<File>),
    /// The portal's own log store (see `logs::selflog`): offered, never blocking.
    LogStore,
}

impl Sink {
    fn file(path: &Path) -> anyhow::Result<Sink> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening audit log {}", path.display()))?;
        Ok(Sink::File(Mutex::new(file)))
    }

    fn write_line(&self, line: &[u8]) {
        // A failed log write has nowhere better to go; it must not take the request down.
        let _ = match self {
            Sink::Stdout => std::io::stdout().lock().write_all(line),
            Sink::File(file) => match file.lock() {
                Ok(mut f) => f.write_all(line),
                Err(_) => Ok(()),
            },
            Sink::LogStore => {
                crate::logs::selflog::offer(&String::from_utf8_lossy(line));
                Ok(())
            }
        };
    }
}

/// Writes each event as one JSON line in the seed's `StructuredFormatter` shape.
struct JsonLines {
    sink: Sink,
}

impl JsonLines {
    fn new(sink: Sink) -> JsonLines {
        JsonLines { sink }
    }
}

/// Python's level names, as the seed's formatter writes `record.levelname`.
fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARNING",
        Level::INFO => "INFO",
        Level::DEBUG => "DEBUG",
        Level::TRACE => "TRACE",
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for JsonLines {
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let line = format_event(event, &ctx);
        self.sink.write_line(line.as_bytes());
    }
}

fn format_event<S: Subscriber + for<'a> LookupSpan<'a>>(
    event: &Event<'_>,
    ctx: &Context<'_, S>,
) -> String {
    let meta = event.metadata();
    let mut fields = Map::new();
    event.record(&mut JsonVisitor(&mut fields));

    let mut entry = Map::new();
    entry.insert(
        "timestamp".into(),
        Utc::now()
            .to_rfc3339_opts(SecondsFormat::Millis, true)
            .into(),
    );
    entry.insert("level".into(), level_name(meta.level()).into());
    // Python logger names are dotted: `server::db` is written `server.db`.
    entry.insert("logger".into(), meta.target().replace("::", ".").into());
    entry.insert(
        "message".into(),
        fields.remove("message").unwrap_or(Value::from("")),
    );
    entry.insert(
        "module".into(),
        meta.module_path().unwrap_or(meta.target()).into(),
    );
    // `tracing` knows no caller function; the innermost span is the instrumented function
    // (or the request). Outside any span, Python's name for top-level code.
    let mut function = "<module>";
    if let Some(scope) = ctx.event_scope(event) {
        for span in scope.from_root() {
            function = span.name();
            if let Some(SpanFields(span_fields)) = span.extensions().get::<SpanFields>() {
                for key in CONTEXT_FIELDS {
                    if let Some(value) = span_fields.get(key) {
                        entry.insert(key.into(), value.clone());
                    }
                }
            }
        }
    }
    entry.insert("function".into(), function.into());
    entry.insert(
        "line".into(),
        meta.line().map(Value::from).unwrap_or(Value::Null),
    );
    if let Some(message) = fields.remove("error") {
        let kind = fields
            .remove("error_type")
            .unwrap_or_else(|| Value::from("Error"));
        let mut exception = Map::new();
        exception.insert("type".into(), kind);
        exception.insert("message".into(), message);
        entry.insert("exception".into(), Value::Object(exception));
    }
    for (key, value) in fields {
        entry.entry(key).or_insert(value);
    }
    let mut line = Value::Object(entry).to_string();
    line.push('\n');
    line
}
