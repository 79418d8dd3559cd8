//! The navigation frame: the sidebar with every section of the portal and the signed-in user.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::dto::Role;
use crate::session;
use crate::theme::ThemeToggle;

#[component]
pub fn Sidebar() -> impl IntoView {
    let user = session::current();
    let is_admin = session::has_role(Role::Admin);
    view! {
        <aside class="sidebar">
            <a class="brand" href="/">
                "Keiko"
                <span class="brand-sub">"Observability"</span>
            </a>
            <nav aria-label="Main">
                <ul class="nav">
                    <li>
                        <A href="/dashboards">"Dashboards"</A>
                    </li>
                    <li class="nav-group">
                        <span class="nav-heading">"Explore"</span>
                        <ul>
                            <li>
                                <A href="/explore/metrics">"Metrics"</A>
                            </li>
                            <li>
                                <A href="/explore/logs">"Logs"</A>
                            </li>
                            <li>
                                <A href="/explore/traces">"Traces"</A>
                            </li>
                        </ul>
                    </li>
                    <li class="nav-group">
                        <span class="nav-heading">"Alerting"</span>
                        <ul>
                            <li>
                                <A href="/alerting/alerts">"Alerts"</A>
                            </li>
                            <li>
                                <A href="/alerting/rules">"Rules"</A>
                            </li>
                            <li>
                                <A href="/alerting/silences">"Silences"</A>
                            </li>
                            <li>
                                <A href="/alerting/contact-points">"Contact points"</A>
                            </li>
                            <li>
                                <A href="/alerting/policies">"Notification policies"</A>
                            </li>
                            <li>
                                <A href="/alerting/escalation">"Escalation"</A>
                            </li>
                        </ul>
                    </li>
                    <li>
                        <A href="/checklist">"Checklist"</A>
                    </li>
                    <li class="nav-group">
                        <span class="nav-heading">"Settings"</span>
                        <ul>
                            <li>
                                <A href="/settings/datasources">"Data sources"</A>
                            </li>
                            <li>
                                <A href="/settings/targets">"Scrape targets"</A>
                            </li>
                            <li>
                                <A href="/settings/users">"Users"</A>
                            </li>
                            <li>
                                <A href="/settings/teams">"Teams"</A>
                            </li>
                            {is_admin
                                .then(|| {
                                    view! {
                                        <li>
                                            <A href="/settings/audit">"Audit log"</A>
                                        </li>
                                    }
                                })}
                        </ul>
                    </li>
                </ul>
            </nav>
            <div class="sidebar-foot">
                {user
                    .map(|u| {
                        view! {
                            <div class="whoami">
                                <A href="/profile">
                                    <span class="whoami-login">{u.login.clone()}</span>
                                </A>
                                <span class="role-badge">{u.role.as_str()}</span>
                            </div>
                            <form method="post" action="/logout" class="logout-form">
                                <button type="submit" id="logout">"Log out"</button>
                            </form>
                        }
                    })}
                <ThemeToggle />
            </div>
        </aside>
    }
}
