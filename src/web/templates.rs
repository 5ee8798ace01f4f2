//! Tera pages: loaded once at start, autoescaped, rendered with the context every page shares.

use std::path::Path;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde_json::json;
use tera::{Context, Tera};

use crate::accounts::User;

/// The page templates.
#[derive(Clone)]
pub struct Templates {
    tera: Arc<Tera>,
}

/// Why the templates could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("cannot load the templates from {dir}: {source}")]
pub struct TemplateError {
    dir: String,
    #[source]
    source: tera::Error,
}

impl Templates {
    /// Loads every `*.tera` file under `dir`; HTML templates are autoescaped.
    pub fn load(dir: &Path) -> Result<Templates, TemplateError> {
        let glob = format!("{}/**/*.tera", dir.display());
        let mut tera = Tera::new(&glob).map_err(|source| TemplateError {
            dir: dir.display().to_string(),
            source,
        })?;
        tera.autoescape_on(vec![".html.tera", ".html"]);
        Ok(Templates {
            tera: Arc::new(tera),
        })
    }

    /// The context every page gets: the page title, the user and the CSRF token.
    pub fn context(title: &str, user: Option<&User>, csrf_token: &str) -> Context {
        let mut context = Context::new();
        context.insert("title", title);
        context.insert("csrf_token", csrf_token);
        if let Some(user) = user {
            context.insert("user", &json!({ "name": user.name.as_str() }));
        }
        context
    }

    /// Renders a page; a template error becomes a logged 500.
    pub fn render(&self, status: StatusCode, name: &str, context: &Context) -> HttpResponse {
        match self.tera.render(name, context) {
            Ok(html) => HttpResponse::build(status)
                .content_type("text/html; charset=utf-8")
                .body(html),
            Err(error) => {
                tracing::error!(template = name, error = ?error, "template failed");
                HttpResponse::InternalServerError()
                    .content_type("text/plain; charset=utf-8")
                    .body("internal error")
            }
        }
    }
}
