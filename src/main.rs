//! The `agora` binary: loads the settings, starts logging, runs the application until SIGTERM or
//! SIGINT.

use std::process::ExitCode;

use agora::config::{ConfigError, Settings};
use agora::startup::Application;

#[actix_web::main]
async fn main() -> ExitCode {
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(ConfigError::Invalid(error)) => error.exit(),
        Err(error) => {
            eprintln!("agora: {error}");
            return ExitCode::from(2);
        }
    };
    if settings.print_config {
        print!("{}", settings.to_toml());
        return ExitCode::SUCCESS;
    }
    agora::telemetry::init(settings.log_format);
    let application = match Application::build(settings).await {
        Ok(application) => application,
        Err(error) => {
            tracing::error!(%error, "cannot start");
            eprintln!("agora: {error}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(port = application.port(), "Agora is serving");
    match application.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("agora: {error}");
            ExitCode::FAILURE
        }
    }
}
