//! The `agora` binary: parses the settings, starts logging, runs the application.

use agora::config::Settings;
use agora::startup::Application;
use clap::Parser;

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    let settings = Settings::parse();
    agora::telemetry::init(settings.log_format);
    let application = match Application::build(settings).await {
        Ok(application) => application,
        Err(error) => {
            tracing::error!(%error, "cannot start");
            eprintln!("agora: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    tracing::info!(port = application.port(), "Agora is serving");
    match application.run_until_stopped().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("agora: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
