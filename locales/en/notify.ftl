# Texts of the notify capability: notifications, support, mailings.

## E-mails
notify-email-subject-default = Notification
notify-email-footer = This e-mail was sent through Tabys. Choose which notifications you get: { $link }
notify-email-unsubscribe = Unsubscribe from mailings in one click: { $link }
notify-email-footer-address = This e-mail was sent through Tabys because this address was given when registering. It is not a mailing; you will get nothing else.

## Notifications (key: in-app text and SMS, -subject: e-mail subject, -body: e-mail text)
notify-offer-new-version-subject = { $org }: a new version of “{ $document }”
notify-offer-new-version-body =
    { $org } published version { $number } of “{ $document }”.

    It takes effect on { $effective }. If you disagree with the changes, send an objection before then under “Documents” in your account.
notify-balance-negative-subject = Your balance is negative
notify-balance-negative-body =
    The balance of your account has gone below zero.

    Top it up by { $date }, or access will be suspended until the debt is paid.
notify-support-message = New support message: “{ $subject }” (request { $thread }).
notify-support-message-subject = Request { $thread }: { $subject }
notify-support-message-body =
    There is a new message in request { $thread } “{ $subject }”.

    Answer it under “Support”.
notify-support-reply = { $desk } answered “{ $subject }” (request { $thread }).
notify-support-reply-subject = Support answered: { $subject }
notify-support-reply-body =
    { $desk } answered your request { $thread } “{ $subject }”.

    Read the answer and continue under “Support” in your account.
notify-mailing = { $org }: { $subject }
notify-mailing-subject = { $subject }
notify-mailing-body =
    { $body }

    — { $org }

## Notification settings
prefs-title = Notification settings
prefs-saved = Saved.
prefs-email = E-mail
prefs-sms = SMS
prefs-category-service = Service: offer changes, money, security, suspensions
prefs-category-events = Events: reminders, courses, bookings, webinars, support answers
prefs-category-marketing = Marketing mailings
prefs-service-note = Service e-mails cannot be switched off.
prefs-marketing-note = Mailings come only with your marketing consent, which you can withdraw here:
prefs-phone = Phone for SMS
prefs-phone-hint = A Kazakhstan mobile number. SMS are sent only where the organizer has switched them on.
prefs-save = Save

## Support
support-none = No requests.
support-subject = Subject
support-to = To
support-from = From
support-status = Status
support-updated = Updated
support-operator-desk = Tabys support
support-status-open = awaiting answer
support-status-waiting = awaiting customer
support-status-closed = closed
support-new = New request
support-no-desk = You can write to an organizer you are a customer or staff member of.
support-message = Message
support-send = Send
support-reply = Answer
support-assignee = Assigned to
support-nobody = nobody
support-staff-label = support
support-new-messages = New messages arrived.
support-refresh = Refresh
support-update = Save
support-inbox = Support
support-attachment = Attachment (picture, PDF, document up to 25 MB)
support-all = All

## Unsubscribe
unsubscribe-title = Unsubscribe from mailings
unsubscribe-question = Stop receiving marketing mailings from { $org }?
unsubscribe-button = Unsubscribe
unsubscribe-done = You have unsubscribed from marketing mailings of { $org }. Service notifications will still come.

## Mailings
mailings-title = Mailings
mailings-new = New mailing
mailings-sent-ok = The mailing is queued.
mailings-channel = Channel
channel-email = E-mail
channel-sms = SMS
channel-inapp = In the account
mailings-purpose = Purpose
purpose-info = About a service the customer uses
purpose-marketing = Marketing
mailings-segment = To
segment-all = All customers
segment-product = Customers with access to a product
mailings-product = Product (course, webinar, event)
mailings-marketing-note = Marketing goes only to people who gave marketing consent and carries an unsubscribe link. People who unsubscribed are never mailed.
mailings-subject = Subject
mailings-body = Text
mailings-send = Send
mailings-none = No mailings yet.
mailings-recipients = Recipients
mailings-queued = Queued
mailings-sent = Sent
mailings-failed = Not delivered
mailings-skipped = Skipped (no consent, unsubscribed, no phone)

## The organizer's e-mail and SMS
sending-title = E-mail and SMS
sending-sender-name = Sender name in e-mails
sending-reply-to = Reply-to address
sending-sms = SMS
sms-mode-off = do not send
sms-mode-operator = through the Tabys account (charged to your balance)
sms-mode-own = through my own SMSC account
sending-operator-note = Through the Tabys account each SMS is charged to your balance at the provider's price plus 5 %, rounded up to a tiyn. A debt older than three business days suspends the account.
sending-sms-login = SMSC login
sending-sms-password = SMSC password
sending-sms-password-keep = saved; leave empty to keep it
sending-sms-sender = SMS sender name

## Delivery
deliveries-troubled = Undelivered messages
deliveries-none = Every message was delivered.
deliveries-when = When
deliveries-channel = Channel
deliveries-to = To
deliveries-kind = Kind
deliveries-status = Status
deliveries-error = Server's answer
deliveries-status-failed = not delivered
deliveries-status-uncertain = unknown whether sent

err-sms-off = The organizer has SMS switched off: switch them on under “E-mail and SMS”.
err-sms-sender-format = An SMS sender name is up to 11 Latin letters and digits.
