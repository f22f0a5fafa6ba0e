//! The first run: what an empty database shows instead of empty charts. Where the window
//! listens, the environment lines and snippets that send it data (each with a Copy
//! button), a drop target, the demo database, and "waiting for the first span…", until
//! a span, a log record or a metric point arrives and the dashboard takes its place.

use super::palette;
use egui::{Frame, RichText, Stroke, Ui};
use std::net::SocketAddr;

/// Where the window receives OTLP, as the snippets need it.
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    /// The gRPC address listened on.
    pub grpc: Option<SocketAddr>,
    /// The HTTP address listened on.
    pub http: Option<SocketAddr>,
    /// The bearer token clients must send, when one is set.
    pub token: Option<String>,
}

impl Endpoints {
    /// Whether anything listens at all.
    fn listening(&self) -> bool {
        self.grpc.is_some() || self.http.is_some()
    }

    /// The exporter's endpoint and protocol: OTLP/HTTP protobuf when it listens (what
    /// the snippets' exporters speak), else gRPC.
    fn endpoint(&self) -> Option<(String, &'static str)> {
        match (self.http, self.grpc) {
            (Some(h), _) => Some((format!("http://{h}"), "http/protobuf")),
            (None, Some(g)) => Some((format!("http://{g}"), "grpc")),
            (None, None) => None,
        }
    }

    /// The lines to paste into a shell before starting an instrumented app: the
    /// standard OTLP exporter variables every SDK reads (PowerShell's form on Windows).
    pub fn environment(&self) -> String {
        let Some((endpoint, protocol)) = self.endpoint() else {
            return String::new();
        };
        let mut vars = vec![
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.to_string()),
        ];
        if let Some(t) = &self.token {
            // Header values are percent-decoded by the SDKs: %20 is the space.
            vars.push((
                "OTEL_EXPORTER_OTLP_HEADERS",
                format!("Authorization=Bearer%20{t}"),
            ));
        }
        vars.iter()
            .map(|(name, value)| {
                if cfg!(windows) {
                    format!("$env:{name} = \"{value}\"")
                } else {
                    format!("export {name}=\"{value}\"")
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The OpenTelemetry Collector's configuration that forwards to this window.
    fn collector_config(&self) -> String {
        let (endpoint, exporter) = match (self.http, self.grpc) {
            (Some(h), _) => (format!("http://{h}"), "otlphttp"),
            (None, Some(g)) => (g.to_string(), "otlp"),
            (None, None) => ("http://127.0.0.1:4318".to_string(), "otlphttp"),
        };
        let tls = if exporter == "otlp" {
            "\n    tls:\n      insecure: true"
        } else {
            ""
        };
        let headers = self.token.as_ref().map_or(String::new(), |t| {
            format!("\n    headers:\n      Authorization: \"Bearer {t}\"")
        });
        format!(
            "# Add to your Collector's configuration: everything it receives is also sent here.\n\
             exporters:\n  {exporter}/llm-observatory:\n    endpoint: {endpoint}{tls}{headers}\n\
             service:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [{exporter}/llm-observatory]\n\
             \x20   logs:\n      receivers: [otlp]\n      exporters: [{exporter}/llm-observatory]\n\
             \x20   metrics:\n      receivers: [otlp]\n      exporters: [{exporter}/llm-observatory]\n"
        )
    }
}

/// A copyable snippet for one stack.
pub struct Snippet {
    /// Its tab's name.
    pub label: &'static str,
    /// What it is, in a line.
    pub about: &'static str,
    /// The code.
    pub code: String,
}

/// A Python snippet: the OTel SDK exporting over OTLP/HTTP (the endpoint from the
/// environment lines), one OpenAI instrumentation (its pip package and import), and one
/// call.
macro_rules! python_snippet {
    ($package:literal, $import:literal) => {
        concat!(
            "# pip install openai opentelemetry-sdk opentelemetry-exporter-otlp-proto-http ",
            $package,
            r#"
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
"#,
            $import,
            r#"

provider = TracerProvider()
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
trace.set_tracer_provider(provider)
OpenAIInstrumentor().instrument(tracer_provider=provider)

from openai import OpenAI

reply = OpenAI().chat.completions.create(
    model="gpt-4o-mini",
    messages=[{"role": "user", "content": "Say hello to LLM Observatory"}],
)
print(reply.choices[0].message.content)
"#
        )
    };
}

/// Python with OpenInference's OpenAI instrumentation (run unchanged by the tests).
pub const PYTHON_OPENINFERENCE: &str = python_snippet!(
    "openinference-instrumentation-openai",
    "from openinference.instrumentation.openai import OpenAIInstrumentor"
);

/// Python with OpenLLMetry's OpenAI instrumentation (run unchanged by the tests).
pub const PYTHON_OPENLLMETRY: &str = python_snippet!(
    "opentelemetry-instrumentation-openai",
    "from opentelemetry.instrumentation.openai import OpenAIInstrumentor"
);

/// Node/TypeScript with OpenInference's OpenAI instrumentation.
const NODE_OPENINFERENCE: &str = r#"// npm install openai @opentelemetry/sdk-node @opentelemetry/exporter-trace-otlp-proto @arizeai/openinference-instrumentation-openai
import { NodeSDK } from "@opentelemetry/sdk-node";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { OpenAIInstrumentation } from "@arizeai/openinference-instrumentation-openai";
import OpenAI from "openai";

const instrumentation = new OpenAIInstrumentation();
instrumentation.manuallyInstrument(OpenAI); // ES modules are not patched on import
const sdk = new NodeSDK({ traceExporter: new OTLPTraceExporter(), instrumentations: [instrumentation] });
sdk.start();

const reply = await new OpenAI().chat.completions.create({
  model: "gpt-4o-mini",
  messages: [{ role: "user", content: "Say hello to LLM Observatory" }],
});
console.log(reply.choices[0].message.content);
await sdk.shutdown();
"#;

/// The snippets, in tab order.
pub fn snippets(endpoints: &Endpoints) -> Vec<Snippet> {
    vec![
        Snippet {
            label: "Python · OpenInference",
            about: "Traces every OpenAI call with OpenInference's conventions.",
            code: PYTHON_OPENINFERENCE.into(),
        },
        Snippet {
            label: "Python · OpenLLMetry",
            about: "Traces every OpenAI call with OpenLLMetry's (gen_ai.*) conventions.",
            code: PYTHON_OPENLLMETRY.into(),
        },
        Snippet {
            label: "Node / TypeScript",
            about: "The OpenTelemetry Node SDK with OpenInference's OpenAI instrumentation.",
            code: NODE_OPENINFERENCE.into(),
        },
        Snippet {
            label: "OTel Collector",
            about: "Already run a Collector? Forward a copy of everything to this window.",
            code: endpoints.collector_config(),
        },
    ]
}

/// What the user asked for on the panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstRunChoice {
    /// Open (creating it the first time) the demo database.
    OpenDemo,
    /// Pick OTLP files to import.
    Import,
}

/// The panel's own state: the snippet tab shown.
#[derive(Default)]
pub struct GettingStarted {
    tab: usize,
}

impl GettingStarted {
    /// Draws the panel; returns what the user asked for, if anything.
    pub fn ui(&mut self, ui: &mut Ui, endpoints: &Endpoints) -> Option<FirstRunChoice> {
        let mut choice = None;
        egui::ScrollArea::vertical().show(ui, |ui| {
            ui.set_max_width(920.0);
            ui.add_space(8.0);
            ui.heading("Send your first span");
            ui.label(
                "This database is empty. Point an instrumented app's OpenTelemetry exporter \
                 here and every LLM call shows up as it happens: latency, tokens, cost, errors, \
                 prompts and responses.",
            );
            ui.add_space(8.0);
            listening_lines(ui, endpoints);
            if endpoints.listening() {
                ui.add_space(10.0);
                ui.label(RichText::new("1. Point your app's exporter here").strong());
                code_block(
                    ui,
                    "environment",
                    &endpoints.environment(),
                    "Copy environment",
                );
                ui.add_space(10.0);
                ui.label(RichText::new("2. Instrument your app").strong());
                let snippets = snippets(endpoints);
                ui.horizontal_wrapped(|ui| {
                    for (i, s) in snippets.iter().enumerate() {
                        if ui.selectable_label(self.tab == i, s.label).clicked() {
                            self.tab = i;
                        }
                    }
                });
                let shown = &snippets[self.tab.min(snippets.len() - 1)];
                ui.label(RichText::new(shown.about).weak());
                code_block(ui, shown.label, &shown.code, "Copy snippet");
            }
            ui.add_space(12.0);
            ui.label(RichText::new("Or look at data you already have").strong());
            choice = drop_target(ui);
            ui.add_space(12.0);
            ui.label(
                RichText::new(if endpoints.listening() {
                    "Waiting for the first span… the dashboard appears when it arrives."
                } else {
                    "Import a file or open another database to see data here."
                })
                .italics(),
            );
        });
        choice
    }
}

/// The addresses listened on, or why nothing listens.
fn listening_lines(ui: &mut Ui, endpoints: &Endpoints) {
    if !endpoints.listening() {
        ui.colored_label(
            palette::WARN,
            "Not listening for OTLP (see the notice above): start the window with --grpc ADDR \
             or --http ADDR to receive live data.",
        );
        return;
    }
    egui::Grid::new("listening").num_columns(2).show(ui, |ui| {
        if let Some(h) = endpoints.http {
            ui.label("OTLP/HTTP (protobuf or JSON)");
            ui.monospace(format!("http://{h}"));
            ui.end_row();
        }
        if let Some(g) = endpoints.grpc {
            ui.label("OTLP/gRPC");
            ui.monospace(g.to_string());
            ui.end_row();
        }
        if endpoints.token.is_some() {
            ui.label("Token");
            ui.label("required (Authorization: Bearer …, in the lines below)");
            ui.end_row();
        }
    });
}

/// Read-only, selectable code with a Copy button under it.
fn code_block(ui: &mut Ui, id: &str, code: &str, copy: &str) {
    let mut text = code;
    ui.push_id(id, |ui| {
        ui.add(
            egui::TextEdit::multiline(&mut text)
                .code_editor()
                .desired_width(f32::INFINITY)
                .desired_rows(1),
        );
    });
    if ui.button(copy).clicked() {
        ui.ctx().copy_text(code.to_string());
    }
}

/// A framed area saying what dropping does, with the import and demo buttons.
fn drop_target(ui: &mut Ui) -> Option<FirstRunChoice> {
    let mut choice = None;
    Frame::group(ui.style())
        .stroke(Stroke::new(1.5, ui.visuals().weak_text_color()))
        .inner_margin(16.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.vertical_centered(|ui| {
                ui.label(RichText::new("Drop an OTLP dump here").size(16.0));
                ui.label(
                    RichText::new(
                        "OTLP JSON or JSON Lines (the Collector's file exporter), protobuf, \
                         gzip or zstd; or a .duckdb file to open it",
                    )
                    .weak(),
                );
                ui.add_space(6.0);
                ui.horizontal(|ui| {
                    if ui.button("Import OTLP files…").clicked() {
                        choice = Some(FirstRunChoice::Import);
                    }
                    if ui
                        .button("Open the demo database")
                        .on_hover_text("A week of synthetic traffic from several models")
                        .clicked()
                    {
                        choice = Some(FirstRunChoice::OpenDemo);
                    }
                });
            });
        });
    choice
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoints(token: Option<&str>) -> Endpoints {
        Endpoints {
            grpc: Some("127.0.0.1:4317".parse().unwrap()),
            http: Some("127.0.0.1:4318".parse().unwrap()),
            token: token.map(String::from),
        }
    }

    #[test]
    fn the_environment_names_the_http_endpoint_and_the_token_when_set() {
        let open = endpoints(None).environment();
        assert!(
            open.contains("OTEL_EXPORTER_OTLP_ENDPOINT=\"http://127.0.0.1:4318\""),
            "{open}"
        );
        assert!(
            open.contains("OTEL_EXPORTER_OTLP_PROTOCOL=\"http/protobuf\""),
            "{open}"
        );
        assert!(!open.contains("HEADERS"), "{open}");
        let guarded = endpoints(Some("s3cret")).environment();
        assert!(
            guarded.contains("OTEL_EXPORTER_OTLP_HEADERS=\"Authorization=Bearer%20s3cret\""),
            "{guarded}"
        );
        let grpc_only = Endpoints {
            http: None,
            ..endpoints(None)
        };
        assert!(grpc_only.environment().contains("\"grpc\""));
        assert_eq!(Endpoints::default().environment(), "");
    }

    #[test]
    fn the_collector_forwards_every_signal_to_the_address_listened_on() {
        let config = endpoints(Some("s3cret")).collector_config();
        assert!(
            config.contains("otlphttp/llm-observatory:\n    endpoint: http://127.0.0.1:4318"),
            "{config}"
        );
        assert!(
            config.contains("Authorization: \"Bearer s3cret\""),
            "{config}"
        );
        for pipeline in ["traces:", "logs:", "metrics:"] {
            assert!(
                config.contains(&format!("    {pipeline}\n      receivers: [otlp]")),
                "{config}"
            );
        }
        let grpc = Endpoints {
            http: None,
            ..endpoints(None)
        }
        .collector_config();
        assert!(grpc.contains("otlp/llm-observatory:\n    endpoint: 127.0.0.1:4317\n    tls:\n      insecure: true"), "{grpc}");
    }
}
