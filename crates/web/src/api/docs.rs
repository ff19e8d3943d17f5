//! Browsable API docs rendered on the server from the OpenAPI document, so
//! they work without JavaScript or a network connection.

use askama::Template;
use utoipa::openapi::OpenApi;

struct Operation {
    method: &'static str,
    path: String,
    summary: String,
    description: String,
    params: Vec<String>,
    body: Option<String>,
    responses: Vec<String>,
}

#[derive(Template)]
#[template(path = "api/docs.html")]
struct Docs {
    title: String,
    description: String,
    operations: Vec<Operation>,
    schemas: Vec<(String, String)>,
}

fn schema_ref(content: &utoipa::openapi::Content) -> String {
    serde_json::to_value(&content.schema)
        .ok()
        .and_then(|v| {
            v.get("$ref")
                .or_else(|| v.get("items").and_then(|i| i.get("$ref")))
                .and_then(|r| r.as_str())
                .map(|r| r.trim_start_matches("#/components/schemas/").to_string())
        })
        .unwrap_or_else(|| "JSON".into())
}

pub fn render(doc: &OpenApi) -> String {
    let mut operations = Vec::new();
    for (path, item) in &doc.paths.paths {
        let ops = [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
        ];
        for (method, op) in ops {
            let Some(op) = op else { continue };
            let params = op
                .parameters
                .iter()
                .flatten()
                .map(|p| format!("{} — {}", p.name, p.description.clone().unwrap_or_default()))
                .collect();
            let body = op
                .request_body
                .as_ref()
                .and_then(|b| b.content.values().next())
                .map(schema_ref);
            let responses = op
                .responses
                .responses
                .iter()
                .map(|(status, r)| match r {
                    utoipa::openapi::RefOr::T(r) => match r.content.values().next() {
                        Some(c) => format!("{status}: {}", schema_ref(c)),
                        None => status.clone(),
                    },
                    utoipa::openapi::RefOr::Ref(_) => status.clone(),
                })
                .collect();
            operations.push(Operation {
                method,
                path: format!("/api/v1{path}"),
                summary: op.summary.clone().unwrap_or_default(),
                description: op.description.clone().unwrap_or_default(),
                params,
                body,
                responses,
            });
        }
    }
    let schemas = doc
        .components
        .as_ref()
        .map(|c| {
            c.schemas
                .iter()
                .map(|(name, s)| {
                    (
                        name.clone(),
                        serde_json::to_string_pretty(s).unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let page = Docs {
        title: doc.info.title.clone(),
        description: doc.info.description.clone().unwrap_or_default(),
        operations,
        schemas,
    };
    page.render()
        .unwrap_or_else(|e| format!("API docs failed to render: {e}"))
}
