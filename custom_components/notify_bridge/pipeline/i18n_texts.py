# ruff: noqa: RUF001 -- Russian is written in Cyrillic; the multiplication sign is meant
"""The table of built-in texts, per language (read through `i18n.text`).

A value is a `str.format` string, or a mapping of plural categories (English: one,
other; Russian: one, few, many) to format strings, chosen by `count`. Every language
has the same keys, the same placeholders and its own complete set of plural forms
(tests/pipeline/test_i18n.py checks all three). Route, album and board names are
quoted «…» in Russian, as Russian typography does for names.
"""

from __future__ import annotations

from collections.abc import Mapping

type TextValue = str | Mapping[str, str]

_EN: dict[str, TextValue] = {
    # Quiet-hours digest (pipeline/policy.py).
    "digest.away_header": {
        "one": "While you were away: {count} notification from {route}.",
        "other": "While you were away: {count} notifications from {route}.",
    },
    "digest.earlier": "… and {count} earlier.",
    "digest.folded": {
        "one": "{count} earlier notification from {route} was folded while it waited.",
        "other": "{count} earlier notifications from {route} were folded while "
        "they waited.",
    },
    # Media beyond what one message carries (pipeline/engine.py) and list tails.
    "more": "… and {count} more",
    # Skipped media (targets/telegram/sender.py, to move there).
    "media.not_sent.photo": "Photo not sent: {reason}",
    "media.not_sent.video": "Video not sent: {reason}",
    "media.not_sent.document": "Document not sent: {reason}",
    "media.open": "Open",
    "media.reason.gone": "media no longer available after a restart",
    "media.reason.too_large": "too large for Telegram",
    "media.reason.video_over_limit": "video of {size} over the {limit} video limit",
    "media.reason.document_over_limit": "{size} over the {limit} document limit",
    # Scheduled digests (pipeline/schedule.py).
    "schedule.header": {
        "one": "{route}: {count} event since {since}",
        "other": "{route}: {count} events since {since}",
    },
    "schedule.nothing": "{route}: nothing new since {since}.",
    "schedule.daily": "daily at {time}",
    "schedule.weekly": "every {days} at {time}",
    "schedule.interval": {
        "one": "every hour",
        "other": "every {count} hours",
    },
    "weekday.0": "Mon",
    "weekday.1": "Tue",
    "weekday.2": "Wed",
    "weekday.3": "Thu",
    "weekday.4": "Fri",
    "weekday.5": "Sat",
    "weekday.6": "Sun",
    # Summary lines: Immich.
    "immich.added_photos": {"one": "{count} new photo", "other": "{count} new photos"},
    "immich.added_videos": {"one": "{count} new video", "other": "{count} new videos"},
    "immich.added_other": {"one": "{count} new file", "other": "{count} new files"},
    "immich.in_album": "{what} in {album}",
    "immich.removed": "{count} removed",
    "immich.removed_from": "{count} removed from {album}",
    "immich.album_prefix": "{album}: {what}",
    "immich.renamed": "renamed",
    "immich.sharing_changed": "sharing changed",
    "immich.deleted": "album {album} was deleted",
    # Summary lines: Gitea.
    "gitea.commits": {"one": "{count} commit", "other": "{count} commits"},
    "gitea.to_branch": "to {branch}",
    "gitea.to_branches": {"one": "to {count} branch", "other": "to {count} branches"},
    "gitea.in_repository": "in {repository}",
    "gitea.in_repositories": {
        "one": "in {count} repository",
        "other": "in {count} repositories",
    },
    "gitea.failed_workflows": {
        "one": "{count} failed workflow",
        "other": "{count} failed workflows",
    },
    "gitea.issues_opened": {
        "one": "{count} issue opened",
        "other": "{count} issues opened",
    },
    "gitea.pulls_opened": {
        "one": "{count} pull request opened",
        "other": "{count} pull requests opened",
    },
    "gitea.pulls_merged": {
        "one": "{count} pull request merged",
        "other": "{count} pull requests merged",
    },
    "gitea.releases": {"one": "{count} release", "other": "{count} releases"},
    "gitea.comments": {"one": "{count} comment", "other": "{count} comments"},
    "gitea.other": {"one": "{count} other event", "other": "{count} other events"},
    # Summary lines: Planka.
    "planka.cards_created": {
        "one": "{count} card created",
        "other": "{count} cards created",
    },
    "planka.cards_moved": {"one": "{count} card moved", "other": "{count} cards moved"},
    "planka.cards_updated": {
        "one": "{count} card updated",
        "other": "{count} cards updated",
    },
    "planka.comments": {"one": "{count} comment", "other": "{count} comments"},
    "planka.tasks_completed": {
        "one": "{count} task completed",
        "other": "{count} tasks completed",
    },
    "planka.members_added": {
        "one": "{count} member added",
        "other": "{count} members added",
    },
    "planka.other": {"one": "{count} other event", "other": "{count} other events"},
    "planka.on_board": "on {board}",
    "planka.on_boards": {"one": "on {count} board", "other": "on {count} boards"},
    # Summary lines: generic webhook, HA events, any other source.
    "generic.events": {"one": "{count} event", "other": "{count} events"},
    "generic.type_count": "{type} × {count}",
    "generic.for_entities": {
        "one": "for {count} entity",
        "other": "for {count} entities",
    },
    # Immich memories.
    "memories.on_this_day": {
        "one": "On this day ({years}): {count} photo",
        "other": "On this day ({years}): {count} photos",
    },
    "memories.years_ago": {"one": "{count} year ago", "other": "{count} years ago"},
    "memories.random": "A random photo from {album}",
    "memories.none": "No photos from this day in earlier years.",
    # Bot command answers (targets/telegram/commands.py, inbound.py), sent as plain
    # text. cmd_*: setMyCommands descriptions (at most 256 characters each).
    "bot.cmd_help": "Show the commands",
    "bot.cmd_status": "Backlog, failed deliveries and sources with problems",
    "bot.cmd_latest": "The last notifications sent here: /latest [n]",
    "bot.cmd_mute": "Hold notifications here: /mute 30m, /mute 2h, /mute 1d",
    "bot.cmd_unmute": "Stop holding; what was held comes as a digest",
    "bot.cmd_flush": "Deliver what is held now",
    "bot.help": (
        "Notify Bridge commands:\n"
        "/status - backlog, failed deliveries, sources with problems\n"
        "/latest [n] - the last n notifications sent to this chat\n"
        "/mute <duration> - hold notifications (e.g. 30m, 2h, 1d)\n"
        "/unmute - stop holding; held notifications come as a digest\n"
        "/flush - deliver what is held now\n"
        "/help - this list"
    ),
    "bot.status_header": "Notify Bridge status",
    "bot.status_destination": "• {name}: {backlog} waiting, {failed} failed",
    "bot.status_muted": "  muted until {until}",
    "bot.status_no_destinations": "No destinations.",
    "bot.status_sources_ok": "All sources are fine.",
    "bot.status_sources": "Sources with problems: {sources}",
    "bot.latest_header": {
        "one": "The last notification:",
        "other": "Last {count} notifications, newest first:",
    },
    "bot.latest_item": "{when} - {text}",
    "bot.latest_none": "Nothing has been delivered to this chat yet.",
    "bot.latest_usage": "Usage: /latest [n], n from 1 to {max}.",
    "bot.mute_usage": (
        "Usage: /mute <duration>, e.g. /mute 30m, /mute 2h, /mute 1d"
        " (at most {max} days)."
    ),
    "bot.muted": (
        "Muted until {until}. Notifications are held and come as a digest on /unmute."
    ),
    "bot.unmuted": {
        "one": "Unmuted; {count} held notification sent as a digest.",
        "other": "Unmuted; {count} held notifications sent as a digest.",
    },
    "bot.flushed": {
        "one": "{count} held notification delivered.",
        "other": "{count} held notifications delivered.",
    },
    "bot.no_destination": "This chat is not a destination of this bot.",
    "bot.slow_down": "Slow down: at most {limit} commands per {window} seconds.",
    "bot.failed": "That did not work: {error}",
    "bot.failed_internal": "That did not work; see the Home Assistant log.",
}

_RU: dict[str, TextValue] = {
    "digest.away_header": {
        "one": "Пока вас не было: {count} уведомление от «{route}».",
        "few": "Пока вас не было: {count} уведомления от «{route}».",
        "many": "Пока вас не было: {count} уведомлений от «{route}».",
    },
    "digest.earlier": "… и ещё {count} ранее.",
    "digest.folded": {
        "one": "{count} более раннее уведомление от «{route}» свёрнуто в очереди.",
        "few": "{count} более ранних уведомления от «{route}» свёрнуты в очереди.",
        "many": "{count} более ранних уведомлений от «{route}» свёрнуты в очереди.",
    },
    "more": "… и ещё {count}",
    "media.not_sent.photo": "Фото не отправлено: {reason}",
    "media.not_sent.video": "Видео не отправлено: {reason}",
    "media.not_sent.document": "Документ не отправлен: {reason}",
    "media.open": "Открыть",
    "media.reason.gone": "медиафайл недоступен после перезапуска",
    "media.reason.too_large": "слишком большой файл для Telegram",
    "media.reason.video_over_limit": "видео размером {size} больше предела {limit}",
    "media.reason.document_over_limit": "файл размером {size} больше предела {limit} "
    "для документов",
    "schedule.header": {
        "one": "«{route}»: {count} событие с {since}",
        "few": "«{route}»: {count} события с {since}",
        "many": "«{route}»: {count} событий с {since}",
    },
    "schedule.nothing": "«{route}»: ничего нового с {since}.",
    "schedule.daily": "ежедневно в {time}",
    "schedule.weekly": "по дням {days} в {time}",
    "schedule.interval": {
        "one": "каждый {count} час",
        "few": "каждые {count} часа",
        "many": "каждые {count} часов",
    },
    "weekday.0": "пн",
    "weekday.1": "вт",
    "weekday.2": "ср",
    "weekday.3": "чт",
    "weekday.4": "пт",
    "weekday.5": "сб",
    "weekday.6": "вс",
    "immich.added_photos": {
        "one": "{count} новая фотография",
        "few": "{count} новые фотографии",
        "many": "{count} новых фотографий",
    },
    "immich.added_videos": {
        "one": "{count} новое видео",
        "few": "{count} новых видео",
        "many": "{count} новых видео",
    },
    "immich.added_other": {
        "one": "{count} новый файл",
        "few": "{count} новых файла",
        "many": "{count} новых файлов",
    },
    "immich.in_album": "{what} в альбоме «{album}»",
    "immich.removed": "удалено: {count}",
    "immich.removed_from": "из альбома «{album}» удалено: {count}",
    "immich.album_prefix": "«{album}»: {what}",
    "immich.renamed": "переименован",
    "immich.sharing_changed": "изменён доступ",
    "immich.deleted": "альбом «{album}» удалён",
    "gitea.commits": {
        "one": "{count} коммит",
        "few": "{count} коммита",
        "many": "{count} коммитов",
    },
    "gitea.to_branch": "в {branch}",
    "gitea.to_branches": {
        "one": "в {count} ветку",
        "few": "в {count} ветки",
        "many": "в {count} веток",
    },
    "gitea.in_repository": "в {repository}",
    "gitea.in_repositories": {
        "one": "в {count} репозитории",
        "few": "в {count} репозиториях",
        "many": "в {count} репозиториях",
    },
    "gitea.failed_workflows": {
        "one": "{count} неудачный запуск workflow",
        "few": "{count} неудачных запуска workflow",
        "many": "{count} неудачных запусков workflow",
    },
    "gitea.issues_opened": {
        "one": "открыта {count} задача",
        "few": "открыто {count} задачи",
        "many": "открыто {count} задач",
    },
    "gitea.pulls_opened": {
        "one": "открыт {count} pull request",
        "few": "открыто {count} pull request",
        "many": "открыто {count} pull request",
    },
    "gitea.pulls_merged": {
        "one": "слит {count} pull request",
        "few": "слито {count} pull request",
        "many": "слито {count} pull request",
    },
    "gitea.releases": {
        "one": "{count} релиз",
        "few": "{count} релиза",
        "many": "{count} релизов",
    },
    "gitea.comments": {
        "one": "{count} комментарий",
        "few": "{count} комментария",
        "many": "{count} комментариев",
    },
    "gitea.other": {
        "one": "{count} другое событие",
        "few": "{count} других события",
        "many": "{count} других событий",
    },
    "planka.cards_created": {
        "one": "создана {count} карточка",
        "few": "создано {count} карточки",
        "many": "создано {count} карточек",
    },
    "planka.cards_moved": {
        "one": "перемещена {count} карточка",
        "few": "перемещено {count} карточки",
        "many": "перемещено {count} карточек",
    },
    "planka.cards_updated": {
        "one": "изменена {count} карточка",
        "few": "изменено {count} карточки",
        "many": "изменено {count} карточек",
    },
    "planka.comments": {
        "one": "{count} комментарий",
        "few": "{count} комментария",
        "many": "{count} комментариев",
    },
    "planka.tasks_completed": {
        "one": "выполнена {count} задача",
        "few": "выполнено {count} задачи",
        "many": "выполнено {count} задач",
    },
    "planka.members_added": {
        "one": "добавлен {count} участник",
        "few": "добавлено {count} участника",
        "many": "добавлено {count} участников",
    },
    "planka.other": {
        "one": "{count} другое событие",
        "few": "{count} других события",
        "many": "{count} других событий",
    },
    "planka.on_board": "на доске «{board}»",
    "planka.on_boards": {
        "one": "на {count} доске",
        "few": "на {count} досках",
        "many": "на {count} досках",
    },
    "generic.events": {
        "one": "{count} событие",
        "few": "{count} события",
        "many": "{count} событий",
    },
    "generic.type_count": "{type} × {count}",
    "generic.for_entities": {
        "one": "для {count} объекта",
        "few": "для {count} объектов",
        "many": "для {count} объектов",
    },
    "memories.on_this_day": {
        "one": "В этот день ({years}): {count} фотография",
        "few": "В этот день ({years}): {count} фотографии",
        "many": "В этот день ({years}): {count} фотографий",
    },
    "memories.years_ago": {
        "one": "{count} год назад",
        "few": "{count} года назад",
        "many": "{count} лет назад",
    },
    "memories.random": "Случайная фотография из альбома «{album}»",
    "memories.none": "В этот день в прошлые годы фотографий нет.",
    "bot.cmd_help": "Показать команды",
    "bot.cmd_status": "Очередь, неудачные доставки и источники с проблемами",
    "bot.cmd_latest": "Последние уведомления, отправленные сюда: /latest [n]",
    "bot.cmd_mute": "Задержать уведомления здесь: /mute 30m, /mute 2h, /mute 1d",
    "bot.cmd_unmute": "Перестать задерживать; задержанное придёт сводкой",
    "bot.cmd_flush": "Доставить задержанное сейчас",
    "bot.help": (
        "Команды Notify Bridge:\n"
        "/status - очередь, неудачные доставки, источники с проблемами\n"
        "/latest [n] - последние n уведомлений, отправленных в этот чат\n"
        "/mute <длительность> - задержать уведомления (например 30m, 2h, 1d)\n"
        "/unmute - перестать задерживать; задержанное придёт сводкой\n"
        "/flush - доставить задержанное сейчас\n"
        "/help - этот список"
    ),
    "bot.status_header": "Состояние Notify Bridge",
    "bot.status_destination": "• {name}: ждут {backlog}, не доставлено {failed}",
    "bot.status_muted": "  без уведомлений до {until}",
    "bot.status_no_destinations": "Получателей нет.",
    "bot.status_sources_ok": "Все источники в порядке.",
    "bot.status_sources": "Источники с проблемами: {sources}",
    # The count in parentheses reads right for any number ("Последние 21 …" would not).
    "bot.latest_header": {
        "one": "Последние уведомления ({count}), сначала новые:",
        "few": "Последние уведомления ({count}), сначала новые:",
        "many": "Последние уведомления ({count}), сначала новые:",
    },
    "bot.latest_item": "{when} - {text}",
    "bot.latest_none": "В этот чат ещё ничего не доставлялось.",
    "bot.latest_usage": "Использование: /latest [n], n от 1 до {max}.",
    "bot.mute_usage": (
        "Использование: /mute <длительность>, например /mute 30m, /mute 2h,"
        " /mute 1d (не более {max} дн.)."
    ),
    "bot.muted": (
        "Уведомления задержаны до {until}. После /unmute они придут сводкой."
    ),
    "bot.unmuted": {
        "one": "Задержка снята; {count} задержанное уведомление отправлено сводкой.",
        "few": "Задержка снята; {count} задержанных уведомления отправлены сводкой.",
        "many": "Задержка снята; {count} задержанных уведомлений отправлены сводкой.",
    },
    "bot.flushed": {
        "one": "Доставлено {count} задержанное уведомление.",
        "few": "Доставлено {count} задержанных уведомления.",
        "many": "Доставлено {count} задержанных уведомлений.",
    },
    "bot.no_destination": "Этот чат не является получателем этого бота.",
    "bot.slow_down": "Не так быстро: не более {limit} команд за {window} с.",
    "bot.failed": "Не получилось: {error}",
    "bot.failed_internal": "Не получилось; подробности в журнале Home Assistant.",
}

TEXTS: Mapping[str, Mapping[str, TextValue]] = {"en": _EN, "ru": _RU}
