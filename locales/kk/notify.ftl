# Texts of the notify capability: notifications, support, mailings.

## Хаттар
notify-email-subject-default = Хабарлама
notify-email-footer = Бұл хат Tabys арқылы жіберілді. Қандай хабарламалар алатыныңызды таңдау: { $link }
notify-email-unsubscribe = Таратылымдардан бір басумен бас тарту: { $link }
notify-email-footer-address = Бұл хат Tabys арқылы жіберілді, себебі осы мекенжай тіркелу кезінде көрсетілген. Бұл таратылым емес: басқа хаттар келмейді.

## Хабарламалар
notify-offer-new-version-subject = { $org }: «{ $document }» құжатының жаңа редакциясы
notify-offer-new-version-body =
    { $org } «{ $document }» құжатының { $number } жаңа редакциясын жариялады.

    Ол { $effective } күшіне енеді. Өзгерістермен келіспесеңіз, осы күнге дейін жеке кабинеттің «Құжаттар» бөлімінде қарсылық жіберіңіз.
notify-balance-negative-subject = Баланс теріс
notify-balance-negative-body =
    Дербес шотыңыздың балансы теріс болды.

    Оны { $date } дейін толтырыңыз, әйтпесе қарыз өтелгенше қолжетімділік тоқтатылады.
notify-support-message = Қолдау қызметіне жаңа хабар: «{ $subject }» ({ $thread } өтініш).
notify-support-message-subject = { $thread } өтініш: { $subject }
notify-support-message-body =
    { $thread } «{ $subject }» өтінішінде жаңа хабар бар.

    «Қолдау» бөлімінде жауап беріңіз.
notify-support-reply = { $desk } «{ $subject }» өтінішіне жауап берді ({ $thread }).
notify-support-reply-subject = Қолдау қызметінің жауабы: { $subject }
notify-support-reply-body =
    { $desk } сіздің { $thread } «{ $subject }» өтінішіңізге жауап берді.

    Жауапты оқып, хат алмасуды жеке кабинеттің «Қолдау» бөлімінде жалғастыра аласыз.
notify-mailing = { $org }: { $subject }
notify-mailing-subject = { $subject }
notify-mailing-body =
    { $body }

    — { $org }

## Хабарлама баптаулары
prefs-title = Хабарлама баптаулары
prefs-saved = Сақталды.
prefs-email = Эл. пошта
prefs-sms = SMS
prefs-category-service = Қызметтік: оферта өзгерістері, ақша, қауіпсіздік, бұғаттаулар
prefs-category-events = Оқиғалар: еске салғыштар, курстар, жазылулар, вебинарлар, қолдау жауаптары
prefs-category-marketing = Жарнамалық таратылымдар
prefs-service-note = Қызметтік хаттарды өшіруге болмайды.
prefs-marketing-note = Таратылымдар тек жарнамаға келісім болғанда келеді; келісімді мұнда қайтарып алуға болады:
prefs-phone = SMS үшін телефон
prefs-phone-hint = Қазақстандық ұялы нөмір. SMS тек ұйымдастырушы оларды қосқан болса жіберіледі.
prefs-save = Сақтау

## Қолдау
support-none = Өтініштер жоқ.
support-subject = Тақырып
support-to = Кімге
support-from = Кімнен
support-status = Күйі
support-updated = Жаңартылды
support-operator-desk = Tabys қолдау қызметі
support-status-open = жауап күтуде
support-status-waiting = клиентті күтуде
support-status-closed = жабық
support-new = Жаңа өтініш
support-no-desk = Сіз клиенті немесе қызметкері болып табылатын ұйымдастырушыға жаза аласыз.
support-message = Хабар
support-send = Жіберу
support-reply = Жауап
support-assignee = Жауапты
support-nobody = тағайындалмаған
support-staff-label = қолдау
support-new-messages = Жаңа хабарлар келді.
support-refresh = Жаңарту
support-update = Сақтау
support-inbox = Қолдау
support-attachment = Тіркеме (сурет, PDF, құжат, 25 МБ дейін)
support-all = Барлығы

## Жазылымнан бас тарту
unsubscribe-title = Таратылымдардан бас тарту
unsubscribe-question = { $org } жарнамалық таратылымдарын бұдан былай алмайсыз ба?
unsubscribe-button = Бас тарту
unsubscribe-done = Сіз { $org } жарнамалық таратылымдарынан бас тарттыңыз. Қызметтік хабарламалар келе береді.

## Таратылымдар
mailings-title = Таратылымдар
mailings-new = Жаңа таратылым
mailings-sent-ok = Таратылым кезекке қойылды.
mailings-channel = Арна
channel-email = Эл. пошта
channel-sms = SMS
channel-inapp = Кабинетке
mailings-purpose = Мақсаты
purpose-info = Клиент пайдаланатын қызмет туралы
purpose-marketing = Жарнама
mailings-segment = Кімге
segment-all = Барлық клиенттерге
segment-product = Өнімге қолжетімділігі бар клиенттерге
mailings-product = Өнім (курс, вебинар, іс-шара)
mailings-marketing-note = Жарнама тек жарнамаға келісім бергендерге жіберіледі және бас тарту сілтемесі болады. Бас тартқандарға таратылым жіберілмейді.
mailings-subject = Тақырып
mailings-body = Мәтін
mailings-send = Жіберу
mailings-none = Әзірге таратылым болған жоқ.
mailings-recipients = Алушылар
mailings-queued = Кезекте
mailings-sent = Жіберілді
mailings-failed = Жеткізілмеді
mailings-skipped = Өткізілді (келісім жоқ, бас тартқан, телефон жоқ)

## Ұйымдастырушының хаттары мен SMS-тары
sending-title = Хаттар мен SMS
sending-sender-name = Хаттардағы жіберуші аты
sending-reply-to = Жауап беру мекенжайы
sending-sms = SMS
sms-mode-off = жібермеу
sms-mode-operator = Tabys аккаунты арқылы (баланстан есептен шығарылады)
sms-mode-own = өз SMSC аккаунтым арқылы
sending-operator-note = Tabys аккаунты арқылы әр SMS балансыңыздан провайдер бағасына 5 % қосып, тиынға дейін жоғары дөңгелектеліп есептен шығарылады. Қарыз үш жұмыс күнінен асса, аккаунт тоқтатылады.
sending-sms-login = SMSC логині
sending-sms-password = SMSC құпиясөзі
sending-sms-password-keep = сақталған; өзгертпеу үшін бос қалдырыңыз
sending-sms-sender = SMS жіберуші аты

## Жеткізу
deliveries-troubled = Жеткізілмеген хабарлар
deliveries-none = Барлық хабарлар жеткізілді.
deliveries-when = Қашан
deliveries-channel = Арна
deliveries-to = Кімге
deliveries-kind = Түрі
deliveries-status = Күйі
deliveries-error = Сервер жауабы
deliveries-status-failed = жеткізілмеді
deliveries-status-uncertain = жіберілгені белгісіз

err-sms-off = Ұйымдастырушыда SMS өшірулі: оларды «Хаттар мен SMS» бөлімінде қосыңыз.
err-sms-sender-format = SMS жіберуші аты — 11 латын әрпі мен цифрға дейін.
