# Русский. Русский текст имеет преимущество при расхождениях.

nav-cabinet = Личный кабинет
nav-admin = Оператор
nav-logout = Выйти
nav-login = Войти
nav-signup = Регистрация
nav-language = Язык
nav-home = На главную
footer-tagline = платформа для онлайн-услуг Казахстана

home-title = Продавайте онлайн-услуги по публичной оферте
home-lead = Курсы, вебинары, коворкинг, события и электронные документы: оферта, оплата в тенге, доступ и юридические доказательства в одном месте.
home-point-offers = Оферта и согласия
home-point-offers-text = Каждая версия оферты и каждое её принятие сохраняются так, что их можно проверить в суде.
home-point-money = Деньги в тенге
home-point-money-text = Карта, Kaspi, счёт на оплату; баланс, возвраты и акты выполненных работ.
home-point-services = Услуги
home-point-services-text = Курсы, вебинарные комнаты, бронирование мест и событий.

signup-title = Регистрация
signup-with-org = Вы регистрируетесь у организатора «{ $org }».
signup-submit = Зарегистрироваться
signup-have-account = Уже есть аккаунт?
login-title = Вход
login-submit = Войти
login-no-account = Нет аккаунта?
password-hint = Не менее 8 символов.

field-name = Имя
field-email = Электронная почта
field-password = Пароль
field-adult = Мне исполнилось 18 лет
field-current-password = Текущий пароль
field-new-password = Новый пароль
field-legal-form = Организационно-правовая форма
field-slug = Адрес страницы (латиница, цифры, дефис)
field-legal-name = Наименование
field-iin-bin = ИИН/БИН
field-legal-address = Юридический адрес
field-iik = ИИК (IBAN)
field-bik = БИК
field-kbe = КБе
field-head-name = Первый руководитель
field-head-position = Должность
field-requires-adult = Клиенты подтверждают совершеннолетие
field-role = Роль
field-initial-password = Первоначальный пароль (для нового пользователя)
field-token-name = Название токена
form-save = Сохранить
form-has-errors = Исправьте отмеченные поля.

cabinet-overview = Обзор
cabinet-services = Подключённые услуги
cabinet-balance = Баланс
cabinet-orders = Заказы
cabinet-documents = Документы
cabinet-notifications = Уведомления
cabinet-support = Поддержка
cabinet-security = Безопасность
cabinet-my-organizers = Мои организации
cabinet-no-organizers = Вы пока не состоите ни в одной организации.
cabinet-empty = Здесь пока ничего нет.

security-change-password = Сменить пароль
security-password-changed = Пароль изменён. Остальные сеансы завершены.
security-compromised = Моим аккаунтом воспользовался кто-то другой
security-compromised-text = Все сеансы, включая этот, будут завершены, а оператор получит уведомление. Затем войдите снова и смените пароль.
security-compromised-button = Завершить все сеансы и сообщить оператору
sessions-count = { $count ->
    [one] { $count } активный сеанс
    [few] { $count } активных сеанса
   *[many] { $count } активных сеансов
}

role-owner = владелец
role-manager = менеджер
role-curator = куратор
role-support = поддержка
role-customer = клиент

legal-form-individual = Физическое лицо
legal-form-entrepreneur = Индивидуальный предприниматель
legal-form-self_employed = Самозанятый
legal-form-legal_entity = Юридическое лицо

org-create = Создать организацию
org-dashboard = Сводка
org-profile = Реквизиты
org-staff = Сотрудники
org-tokens = API-токены
org-audit = Журнал
org-public-page = Публичная страница
org-profile-hint = Эти данные печатаются в офертах, счетах и актах. Каждое изменение записывается в журнал.
org-bank-details = Банковские реквизиты
org-first-head = Первый руководитель с правом подписи
org-staff-remove = Удалить
org-staff-add = Добавить сотрудника
org-staff-add-hint = Если у человека ещё нет аккаунта, он будет создан с указанным паролем.
org-tokens-hint = Токен действует от вашего имени и только в этой организации.
org-token-once = Скопируйте токен сейчас: он больше не будет показан.
org-token-issue = Выпустить токен
org-tokens-none = Токенов пока нет.
org-token-revoked = отозван
org-token-revoke = Отозвать
org-audit-hint = Записи журнала нельзя изменить: каждая содержит хеш предыдущей.
org-you-are = Вы здесь:
org-join = Стать клиентом

audit-when = Когда
audit-action = Действие
audit-details = Подробности

admin-alerts = Сигналы
admin-no-alerts = Сигналов нет.
alert-account-compromised = аккаунт взломан
admin-organizers = Организации
admin-failed-jobs = Неудавшиеся задания
admin-no-failed-jobs = Неудавшихся заданий нет.

err-invalid = Проверьте введённые данные.
err-required = Заполните это поле.
err-email-format = Введите адрес электронной почты, например name@example.kz.
err-email-taken = Этот адрес уже зарегистрирован. Войдите или восстановите пароль.
err-password-too-short = Пароль должен быть не короче 8 символов.
err-password-too-long = Пароль слишком длинный.
err-password-wrong = Неверный текущий пароль.
err-login-failed = Неверная почта или пароль.
err-iin-bin-format = ИИН/БИН состоит из 12 цифр.
err-iin-bin-checksum = ИИН/БИН введён с ошибкой: не сходится контрольная цифра.
err-iin-bin-date = В ИИН/БИН указана несуществующая дата.
err-iban-format = ИИК — это IBAN из 20 знаков, начинается с KZ.
err-iban-checksum = ИИК введён с ошибкой: не сходится контрольное число.
err-bik-format = БИК — 8 знаков, например KCJBKZKX.
err-kbe-format = КБе — две цифры, например 17.
err-phone-format = Введите номер мобильного телефона Казахстана, например +7 701 123 45 67.
err-slug-format = Адрес: от 3 до 40 латинских букв, цифр и дефисов.
err-slug-taken = Этот адрес уже занят.
err-legal-form-unknown = Выберите форму из списка.
err-bin-required = Для юридического лица укажите БИН.
err-iin-required = Для этой формы укажите ИИН.
err-text-too-long = Слишком длинный текст.
err-name-format = Укажите имя без служебных символов, до 200 знаков.
err-already-staff = Этот человек уже сотрудник организации.
err-role-unknown = Выберите роль из списка.
err-not-found = Страница не найдена.
err-forbidden = У вас нет прав на это действие.
err-unauthorized = Войдите, чтобы продолжить.
err-rate-limited = Слишком много попыток. Попробуйте через 15 минут.
err-internal = Что-то пошло не так. Мы уже разбираемся.
err-csrf = Форма устарела. Обновите страницу и отправьте снова.
err-session-expired = Сеанс истёк. Войдите снова.
err-account-suspended = Аккаунт приостановлен. Обратитесь к оператору.
err-owner-cannot-be-removed = Владельца нельзя удалить.
err-adult-required = Подтвердите, что вам исполнилось 18 лет.
err-duplicate = Такая запись уже есть.
err-payload-too-large = Слишком большой запрос.
err-bad-request = Запрос не удалось разобрать.
err-unsupported-media-type = Неподдерживаемый формат запроса.
err-method-not-allowed = Этот метод здесь не поддерживается.
err-timeout = Сервер не успел ответить. Попробуйте ещё раз.
err-money-format = Введите сумму в тенге, например 1 500 или 1 500,50.
err-money-fraction = В тенге не больше двух знаков после запятой.
err-money-range = Слишком большая сумма.
