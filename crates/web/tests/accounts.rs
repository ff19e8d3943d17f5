//! Sign-up, sign-in and sessions, over HTTP against the real server.

use tabys_testkit::reqwest::StatusCode;
use tabys_testkit::{PASSWORD, db_test};

db_test! {
    async fn sign_up_signs_in_and_opens_the_cabinet(app: TestApp) {
        let c = app.person("aigerim@example.kz", "Айгерим").await?;
        let page = c.get("/cabinet").await?;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text.contains("Айгерим"));
        Ok(())
    }
}

db_test! {
    async fn duplicate_email_is_refused_with_a_translated_message_and_changes_nothing(app: TestApp) {
        app.person("dup@example.kz", "First").await?;
        let c = app.client()?;
        let r = c
            .post_form("/signup", &[("name", "Second"), ("email", "DUP@example.kz"), ("password", PASSWORD)])
            .await?;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text.contains("Этот адрес уже зарегистрирован"), "{}", r.text);
        assert!(c.cookie("sid").is_none());
        Ok(())
    }
}

db_test! {
    async fn form_without_csrf_token_is_refused(app: TestApp) {
        let c = app.client()?;
        c.csrf().await?;
        let r = c
            .post_raw("/signup", "application/x-www-form-urlencoded", "name=X&email=x%40example.kz&password=12345678")
            .await?;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text.contains("Форма устарела"), "{}", r.text);
        let again = app.client()?;
        let login = again.post_form("/login", &[("email", "x@example.kz"), ("password", "12345678")]).await?;
        assert_eq!(login.status, StatusCode::UNPROCESSABLE_ENTITY, "no account may have been created");
        Ok(())
    }
}

db_test! {
    async fn session_expires_after_two_idle_weeks(app: TestApp) {
        let c = app.person("idle@example.kz", "Idle").await?;
        app.clock.advance_seconds(15 * 86_400);
        let r = c.get("/cabinet").await?;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert!(r.location.as_deref().unwrap_or_default().contains("expired=1"));
        Ok(())
    }
}
