# Texts of the notify capability: notifications, support, mailings.

## Письма
notify-email-subject-default = Уведомление
notify-email-footer = Это письмо отправлено через Tabys. Выбрать, какие уведомления получать: { $link }
notify-email-unsubscribe = Отписаться от рассылок в один клик: { $link }
notify-email-footer-address = Это письмо отправлено через Tabys, потому что этот адрес указали при регистрации. Это не рассылка: других писем не будет.

## Уведомления (ключ — текст в кабинете и SMS, -subject — тема письма, -body — текст письма)
notify-offer-new-version-subject = { $org }: новая редакция документа «{ $document }»
notify-offer-new-version-body =
    { $org } опубликовал новую редакцию { $number } документа «{ $document }».

    Она вступает в силу { $effective }. Если вы не согласны с изменениями, направьте возражение до этой даты в разделе «Документы» личного кабинета.
notify-balance-negative-subject = Баланс отрицательный
notify-balance-negative-body =
    Баланс вашего лицевого счёта стал отрицательным.

    Пополните его до { $date }, иначе доступ будет приостановлен до погашения долга.
notify-support-message = Новое сообщение в поддержку: «{ $subject }» (обращение № { $thread }).
notify-support-message-subject = Обращение № { $thread }: { $subject }
notify-support-message-body =
    В обращении № { $thread } «{ $subject }» новое сообщение.

    Ответьте в разделе «Поддержка».
notify-support-reply = { $desk } ответил на обращение «{ $subject }» (№ { $thread }).
notify-support-reply-subject = Ответ поддержки: { $subject }
notify-support-reply-body =
    { $desk } ответил на ваше обращение № { $thread } «{ $subject }».

    Прочитать ответ и продолжить переписку можно в личном кабинете, раздел «Поддержка».
notify-mailing = { $org }: { $subject }
notify-mailing-subject = { $subject }
notify-mailing-body =
    { $body }

    — { $org }

## Настройки уведомлений
prefs-title = Настройки уведомлений
prefs-saved = Сохранено.
prefs-email = Эл. почта
prefs-sms = SMS
prefs-category-service = Служебные: изменения оферты, деньги, безопасность, блокировки
prefs-category-events = События: напоминания, курсы, записи, вебинары, ответы поддержки
prefs-category-marketing = Рекламные рассылки
prefs-service-note = Служебные письма отключить нельзя.
prefs-marketing-note = Рассылки приходят только при согласии на рекламу; его можно отозвать здесь:
prefs-phone = Телефон для SMS
prefs-phone-hint = Казахстанский мобильный номер. SMS отправляются, только если организатор их подключил.
prefs-save = Сохранить

## Поддержка
support-none = Обращений нет.
support-subject = Тема
support-to = Кому
support-from = От кого
support-status = Статус
support-updated = Обновлено
support-operator-desk = Поддержка Tabys
support-status-open = ждёт ответа
support-status-waiting = ждёт клиента
support-status-closed = закрыто
support-new = Новое обращение
support-no-desk = Написать можно организатору, клиентом или сотрудником которого вы являетесь.
support-message = Сообщение
support-send = Отправить
support-reply = Ответ
support-assignee = Ответственный
support-nobody = не назначен
support-staff-label = поддержка
support-new-messages = Пришли новые сообщения.
support-refresh = Обновить
support-update = Сохранить
support-inbox = Поддержка
support-attachment = Вложение (картинка, PDF, документ до 25 МБ)
support-all = Все

## Отписка
unsubscribe-title = Отписка от рассылок
unsubscribe-question = Больше не получать рекламные рассылки от { $org }?
unsubscribe-button = Отписаться
unsubscribe-done = Вы отписались от рекламных рассылок { $org }. Служебные уведомления продолжат приходить.

## Рассылки
mailings-title = Рассылки
mailings-new = Новая рассылка
mailings-sent-ok = Рассылка поставлена в очередь.
mailings-channel = Канал
channel-email = Эл. почта
channel-sms = SMS
channel-inapp = В кабинет
mailings-purpose = Назначение
purpose-info = Об услуге, которой клиент пользуется
purpose-marketing = Реклама
mailings-segment = Кому
segment-all = Всем клиентам
segment-product = Клиентам с доступом к продукту
mailings-product = Продукт (курс, вебинар, мероприятие)
mailings-marketing-note = Реклама уходит только тем, кто дал согласие на рекламу, и содержит ссылку для отписки. Отписавшимся рассылки не отправляются.
mailings-subject = Тема
mailings-body = Текст
mailings-send = Отправить
mailings-none = Рассылок ещё не было.
mailings-recipients = Получателей
mailings-queued = В очереди
mailings-sent = Отправлено
mailings-failed = Не доставлено
mailings-skipped = Пропущено (нет согласия, отписка, нет телефона)

## Отправка писем и SMS организатора
sending-title = Письма и SMS
sending-sender-name = Имя отправителя в письмах
sending-reply-to = Адрес для ответов
sending-sms = SMS
sms-mode-off = не отправлять
sms-mode-operator = через аккаунт Tabys (списывается с баланса)
sms-mode-own = через свой аккаунт SMSC
sending-operator-note = Через аккаунт Tabys каждое SMS списывается с вашего баланса по цене провайдера плюс 5 %, с округлением вверх до тиына. При долге более трёх рабочих дней аккаунт приостанавливается.
sending-sms-login = Логин SMSC
sending-sms-password = Пароль SMSC
sending-sms-password-keep = сохранён; оставьте пустым, чтобы не менять
sending-sms-sender = Имя отправителя SMS

## Доставка
deliveries-troubled = Недоставленные сообщения
deliveries-none = Все сообщения доставлены.
deliveries-when = Когда
deliveries-channel = Канал
deliveries-to = Кому
deliveries-kind = Вид
deliveries-status = Статус
deliveries-error = Ответ сервера
deliveries-status-failed = не доставлено
deliveries-status-uncertain = неизвестно, отправлено ли

err-sms-off = SMS у организатора отключены: включите их в разделе «Письма и SMS».
err-sms-sender-format = Имя отправителя SMS — до 11 латинских букв и цифр.
