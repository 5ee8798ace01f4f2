//! The Socket.IO Admin UI (vendored from `@socket.io/admin-ui`, see `static/admin/README.md`),
//! served at `/admin/` when the admin is on, under its own Content Security Policy: the UI loads
//! its fonts and icons from Google Fonts and jsDelivr and styles elements inline, which the
//! site's strict policy ([`super::headers::CONTENT_SECURITY_POLICY`]) forbids. Its scripts still
//! come from this server only, and it may connect back to this server only.

use std::path::PathBuf;

use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::{web, HttpResponse};

/// The UI's Content Security Policy.
pub const ADMIN_UI_CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline' https://fonts.googleapis.com https://cdn.jsdelivr.net; \
     font-src 'self' data: https://fonts.gstatic.com https://cdn.jsdelivr.net; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; \
     form-action 'self'; frame-ancestors 'none'";

/// Serves the UI in `dir` at `/admin/` (and sends `/admin` there).
pub fn configure(cfg: &mut web::ServiceConfig, dir: PathBuf) {
    cfg.route(
        "/admin",
        web::get().to(|| async {
            HttpResponse::PermanentRedirect()
                .insert_header((header::LOCATION, "/admin/"))
                .finish()
        }),
    )
    .service(
        web::scope("/admin")
            .wrap(DefaultHeaders::new().add((
                header::CONTENT_SECURITY_POLICY,
                ADMIN_UI_CONTENT_SECURITY_POLICY,
            )))
            .service(actix_files::Files::new("/", dir).index_file("index.html")),
    );
}
