# English.

nav-cabinet = My account
nav-admin = Operator
nav-logout = Sign out
nav-login = Sign in
nav-signup = Sign up
nav-language = Language
nav-home = Home
footer-tagline = the platform for online services in Kazakhstan

home-title = Sell online services under a public offer
home-lead = Courses, webinars, coworking, events and electronic documents: the offer, payment in tenge, access and legal evidence in one place.
home-point-offers = Offers and consents
home-point-offers-text = Every offer version and every acceptance is kept so that a court can check it.
home-point-money = Money in tenge
home-point-money-text = Card, Kaspi, invoices; balance, refunds and acts of completed work.
home-point-services = Services
home-point-services-text = Courses, webinar rooms, booking of workplaces and events.

signup-title = Sign up
signup-with-org = You are signing up with “{ $org }”.
signup-submit = Create account
signup-have-account = Already have an account?
login-title = Sign in
login-submit = Sign in
login-no-account = No account yet?
password-hint = At least 8 characters.

field-name = Name
field-email = Email
field-password = Password
field-adult = I am 18 or older
field-current-password = Current password
field-new-password = New password
field-legal-form = Legal form
field-slug = Page address (latin letters, digits, hyphen)
field-legal-name = Legal name
field-iin-bin = IIN/BIN
field-legal-address = Legal address
field-iik = IIK (IBAN)
field-bik = BIK
field-kbe = KBe
field-head-name = First head
field-head-position = Position
field-requires-adult = Customers confirm they are adults
field-role = Role
field-initial-password = First password (for a new person)
field-token-name = Token name
form-save = Save
form-has-errors = Please fix the marked fields.

cabinet-overview = Overview
cabinet-services = Services
cabinet-balance = Balance
cabinet-orders = Orders
cabinet-documents = Documents
cabinet-notifications = Notifications
cabinet-support = Support
cabinet-security = Security
cabinet-my-organizers = My organizations
cabinet-no-organizers = You do not belong to any organization yet.
cabinet-empty = Nothing here yet.

security-change-password = Change password
security-password-changed = Password changed. Your other sessions were ended.
security-compromised = Someone else used my account
security-compromised-text = Every session, this one included, will end and the operator will be alerted. Then sign in again and change your password.
security-compromised-button = End all sessions and alert the operator
sessions-count = { $count ->
    [one] { $count } active session
   *[other] { $count } active sessions
}

role-owner = owner
role-manager = manager
role-curator = curator
role-support = support
role-customer = customer

legal-form-individual = Individual
legal-form-entrepreneur = Individual entrepreneur
legal-form-self_employed = Self-employed
legal-form-legal_entity = Legal entity

org-create = Create an organization
org-dashboard = Summary
org-profile = Legal details
org-staff = Staff
org-tokens = API tokens
org-audit = Audit log
org-public-page = Public page
org-profile-hint = These details are printed on offers, invoices and acts. Every change is recorded in the audit log.
org-bank-details = Bank details
org-first-head = First head with the right to sign
org-staff-remove = Remove
org-staff-add = Add a staff login
org-staff-add-hint = A person without an account gets one with the password you set.
org-tokens-hint = A token acts as you, and only in this organization.
org-token-once = Copy the token now: it will not be shown again.
org-token-issue = Issue a token
org-tokens-none = No tokens yet.
org-token-revoked = revoked
org-token-revoke = Revoke
org-audit-hint = Entries cannot be changed: each carries the hash of the one before.
org-you-are = You are here as:
org-join = Become a customer

audit-when = When
audit-action = Action
audit-details = Details

admin-alerts = Alerts
admin-no-alerts = No alerts.
alert-account-compromised = account compromised
admin-organizers = Organizations
admin-failed-jobs = Failed jobs
admin-no-failed-jobs = No failed jobs.

err-invalid = Please check what you entered.
err-required = Please fill in this field.
err-email-format = Enter an email address such as name@example.kz.
err-email-taken = This email is already registered. Sign in instead.
err-password-too-short = The password must be at least 8 characters long.
err-password-too-long = The password is too long.
err-password-wrong = The current password is wrong.
err-login-failed = Wrong email or password.
err-iin-bin-format = An IIN/BIN has 12 digits.
err-iin-bin-checksum = This IIN/BIN has a typo: its check digit does not match.
err-iin-bin-date = This IIN/BIN contains a date that does not exist.
err-iban-format = The IIK is a 20-character IBAN starting with KZ.
err-iban-checksum = This IIK has a typo: its check number does not match.
err-bik-format = A BIK has 8 characters, such as KCJBKZKX.
err-kbe-format = KBe is two digits, such as 17.
err-phone-format = Enter a Kazakh mobile number such as +7 701 123 45 67.
err-slug-format = Address: 3 to 40 latin letters, digits and hyphens.
err-slug-taken = This address is taken.
err-legal-form-unknown = Choose a legal form from the list.
err-bin-required = A legal entity is identified by its BIN.
err-iin-required = This legal form is identified by an IIN.
err-text-too-long = The text is too long.
err-name-format = Enter a name without control characters, up to 200 characters.
err-already-staff = This person is already on the staff.
err-role-unknown = Choose a role from the list.
err-not-found = Page not found.
err-forbidden = You are not allowed to do this.
err-unauthorized = Please sign in to continue.
err-rate-limited = Too many attempts. Try again in 15 minutes.
err-internal = Something went wrong. We are looking into it.
err-csrf = This form has expired. Reload the page and send it again.
err-session-expired = Your session has expired. Please sign in again.
err-account-suspended = The account is suspended. Contact the operator.
err-owner-cannot-be-removed = The owner cannot be removed.
err-adult-required = Please confirm that you are 18 or older.
err-duplicate = This already exists.
err-payload-too-large = The request is too large.
err-bad-request = The request could not be read.
err-unsupported-media-type = This request format is not supported.
err-method-not-allowed = This method is not supported here.
err-timeout = The server did not answer in time. Please try again.
err-money-format = Enter an amount in tenge, such as 1 500 or 1 500.50.
err-money-fraction = Tenge have at most two decimal places.
err-money-range = The amount is too large.
