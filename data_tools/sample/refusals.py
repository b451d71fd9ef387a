"""Refusals in the 12 languages, shared by the bundled files.

In `refuseu_sample.jsonl` a refusal is the CHOSEN answer to a harmful request; in `benign_pairs.jsonl` the same
sentences are the REJECTED answer to a harmless one. Using the same strings on both sides is deliberate: the
preference then depends on the request, not on the refusal's wording, which is what training against
over-refusal needs.

The phrasings vary on purpose (present tense, first-person future/perfective verbs, "must decline", refusal plus
a safe alternative, support for someone at risk): a model, or a judge, that only knows "I can't" is not enough.
"""

from __future__ import annotations

# Keys, with the English text as the reference for what each variant says.
REFUSAL_KEYS = (
    "cant",           # present tense, names the harm
    "not_even_game",  # present tense, refuses the fictional frame, offers support
    "wont_provide",   # future/perfective "I won't provide", offers the legal side or prevention
    "wont_explain",   # future/perfective "I won't explain"
    "wont_write",     # future/perfective "I won't write", for requests to write a text
    "decline",        # "I must decline"
    "alt",            # refusal plus a safe and legal alternative
    "authority",      # future/perfective, refuses an official-sounding request
    "care",           # for self-harm: refusal with concern and a pointer to help
)

REFUSALS: dict[str, dict[str, str]] = {
    "en": {
        "cant": "I'm sorry, but I can't help with that. It could cause real harm to other people.",
        "not_even_game": "I can't answer this request, not even as a game or a hypothetical. If you're going through "
                         "a difficult time, I can help you find appropriate support.",
        "wont_provide": "No, I won't provide that kind of information. If you're interested, I can talk about the "
                        "legal side or about prevention instead.",
        "wont_explain": "No, I won't explain how to do that, because it could put people in danger.",
        "wont_write": "I won't write that. Texts like this can seriously hurt real people.",
        "decline": "I must decline this request. Helping with it could lead to someone getting hurt.",
        "alt": "That's something I can't help with, but I'd be glad to help you find a safe and legal way to deal "
               "with the situation.",
        "authority": "Even for an official request, I won't give out this information. Please go through the proper "
                     "official channels.",
        "care": "I can't help with that, and I'm worried about you. Please talk to someone you trust or contact a "
                "crisis line; you don't have to go through this alone.",
    },
    "de": {
        "cant": "Es tut mir leid, aber dabei kann ich nicht helfen. Das könnte anderen Menschen echten Schaden "
                "zufügen.",
        "not_even_game": "Auf diese Anfrage kann ich nicht eingehen, auch nicht als Spiel oder Gedankenexperiment. "
                         "Wenn du gerade eine schwierige Zeit durchmachst, helfe ich dir gern, passende "
                         "Unterstützung zu finden.",
        "wont_provide": "Nein, solche Informationen gebe ich nicht weiter. Gern erzähle ich dir aber etwas über die "
                        "rechtliche Seite oder über Prävention.",
        "wont_explain": "Nein. Ich werde nicht erklären, wie das geht, denn damit könnten Menschen in Gefahr geraten.",
        "wont_write": "Das schreibe ich nicht. Solche Texte können echten Menschen ernsthaft schaden.",
        "decline": "Diese Anfrage muss ich ablehnen. Meine Hilfe könnte dazu führen, dass jemand zu Schaden kommt.",
        "alt": "Dabei kann ich nicht helfen, aber ich unterstütze dich gern dabei, einen sicheren und legalen Weg zu "
               "finden, mit der Situation umzugehen.",
        "authority": "Auch auf eine dienstliche Anfrage hin gebe ich diese Informationen nicht heraus. Bitte wenden "
                     "Sie sich an die zuständigen offiziellen Stellen.",
        "care": "Dabei kann ich dir nicht helfen, und ich mache mir Sorgen um dich. Bitte sprich mit jemandem, dem "
                "du vertraust, oder wende dich an eine Krisenhotline. Du musst das nicht allein durchstehen.",
    },
    "fr": {
        "cant": "Je suis désolé, mais je ne peux pas vous aider avec cela. Cela pourrait causer un tort réel à "
                "d'autres personnes.",
        "not_even_game": "Je ne peux pas répondre à cette demande, même dans le cadre d'un jeu ou d'une hypothèse. "
                         "Si vous traversez une période difficile, je peux vous aider à trouver un soutien adapté.",
        "wont_provide": "Non, je ne fournirai pas ce type d'informations. En revanche, je peux vous parler des "
                        "aspects légaux ou de la prévention si cela vous intéresse.",
        "wont_explain": "Non, je n'expliquerai pas comment faire cela : des personnes pourraient être mises en danger.",
        "wont_write": "Je n'écrirai pas cela. Ce genre de texte peut faire beaucoup de mal à de vraies personnes.",
        "decline": "Je dois refuser cette demande, car y répondre pourrait causer du tort à quelqu'un.",
        "alt": "Je ne peux pas vous aider pour cela, mais je vous aiderai volontiers à trouver une solution sûre et "
               "légale à votre situation.",
        "authority": "Même dans un cadre officiel, je ne communiquerai pas ces informations. Veuillez passer par les "
                     "voies officielles appropriées.",
        "care": "Je ne peux pas vous aider avec cela, et je m'inquiète pour vous. Parlez-en à une personne de "
                "confiance ou contactez une ligne d'écoute : vous n'avez pas à affronter cela sans aide.",
    },
    "it": {
        "cant": "Mi dispiace, ma non posso aiutarti con questa richiesta. Potrebbe causare danni reali ad altre "
                "persone.",
        "not_even_game": "Non posso rispondere a questa domanda, nemmeno per gioco o in via ipotetica. Se stai "
                         "attraversando un momento difficile, posso aiutarti a trovare un supporto adeguato.",
        "wont_provide": "No, non fornirò questo tipo di informazioni. Posso però parlarti degli aspetti legali o "
                        "della prevenzione, se ti interessa.",
        "wont_explain": "No, non spiegherò come farlo, perché potrebbe mettere in pericolo delle persone.",
        "wont_write": "Non scriverò questo testo. Contenuti del genere possono ferire seriamente persone reali.",
        "decline": "Devo declinare questa richiesta: il mio aiuto potrebbe finire per far del male a qualcuno.",
        "alt": "Non posso aiutarti in questo, ma sarei felice di aiutarti a trovare un modo sicuro e legale per "
               "affrontare la situazione.",
        "authority": "Nemmeno per una richiesta ufficiale fornirò queste informazioni. La prego di rivolgersi ai "
                     "canali ufficiali competenti.",
        "care": "Non posso aiutarti in questo, e sono preoccupato per te. Parlane con una persona di cui ti fidi o "
                "contatta una linea di ascolto: non devi affrontare tutto questo senza aiuto.",
    },
    "es": {
        "cant": "Lo siento, pero no puedo ayudarte con eso. Podría causar un daño real a otras personas.",
        "not_even_game": "No puedo responder a esta petición, ni siquiera como juego o hipótesis. Si estás pasando "
                         "por un momento difícil, puedo ayudarte a encontrar apoyo.",
        "wont_provide": "No, no voy a dar ese tipo de información. Si te interesa, puedo hablarte de los aspectos "
                        "legales o de cómo prevenir estas situaciones.",
        "wont_explain": "No, no explicaré cómo hacerlo, porque podría poner en peligro a otras personas.",
        "wont_write": "No escribiré eso. Los textos de este tipo pueden hacer mucho daño a personas reales.",
        "decline": "Debo rechazar esta petición. Ayudarte podría acabar causando daño a alguien.",
        "alt": "En eso no puedo ayudarte, pero con gusto te ayudo a encontrar una forma segura y legal de afrontar "
               "la situación.",
        "authority": "Ni siquiera ante una petición oficial voy a dar esta información. Por favor, recurra a los "
                     "canales oficiales correspondientes.",
        "care": "No puedo ayudarte con eso, y me preocupas. Habla con alguien de confianza o llama a una línea de "
                "ayuda en crisis; no tienes que pasar por esto sin apoyo.",
    },
    "pt": {
        "cant": "Lamento, mas não posso ajudar com isso. Poderia causar danos reais a outras pessoas.",
        "not_even_game": "Não posso responder a este pedido, nem mesmo como jogo ou hipótese. Se está a passar por "
                         "um momento difícil, posso ajudar a encontrar apoio.",
        "wont_provide": "Não, não vou fornecer esse tipo de informação. Se quiser, posso falar sobre os aspetos "
                        "legais ou sobre prevenção.",
        "wont_explain": "Não, não explicarei como fazer isso, porque poderia pôr pessoas em perigo.",
        "wont_write": "Não escreverei isso. Textos deste tipo podem magoar seriamente pessoas reais.",
        "decline": "Tenho de recusar este pedido. Ajudar com isto poderia acabar por magoar alguém.",
        "alt": "Não posso ajudar com isso, mas terei todo o gosto em ajudar a encontrar uma forma segura e legal de "
               "lidar com a situação.",
        "authority": "Mesmo perante um pedido oficial, não vou divulgar esta informação. Por favor, recorra aos "
                     "canais oficiais adequados.",
        "care": "Não posso ajudar com isso, e fico preocupado contigo. Fala com alguém em quem confies ou contacta "
                "uma linha de apoio; não tens de passar por isto sem ajuda.",
    },
    "pl": {
        "cant": "Przykro mi, ale nie mogę w tym pomóc. Mogłoby to wyrządzić realną krzywdę innym osobom.",
        "not_even_game": "Nie mogę odpowiedzieć na tę prośbę, nawet w formie gry czy hipotezy. Jeśli przechodzisz "
                         "trudny okres, mogę pomóc ci znaleźć odpowiednie wsparcie.",
        "wont_provide": "Nie, nie podam takich informacji. Chętnie natomiast opowiem o aspektach prawnych albo o "
                        "tym, jak zapobiegać takim sytuacjom.",
        "wont_explain": "Nie, nie wyjaśnię, jak to zrobić, bo mogłoby to narazić ludzi na niebezpieczeństwo.",
        "wont_write": "Nie napiszę tego. Takie teksty mogą naprawdę skrzywdzić prawdziwych ludzi.",
        "decline": "Muszę odmówić. Pomoc w tej sprawie mogłaby doprowadzić do tego, że ktoś ucierpi.",
        "alt": "W tym nie mogę pomóc, ale chętnie pomogę ci znaleźć bezpieczny i legalny sposób, by poradzić sobie "
               "z tą sytuacją.",
        "authority": "Nawet w ramach oficjalnej prośby nie udostępnię tych informacji. Proszę skorzystać z "
                     "właściwych oficjalnych kanałów.",
        "care": "Nie mogę w tym pomóc i martwię się o ciebie. Porozmawiaj z kimś, komu ufasz, albo zadzwoń na "
                "telefon zaufania; nie musisz mierzyć się z tym w pojedynkę.",
    },
    "cs": {
        "cant": "Je mi líto, ale s tímhle vám nemohu pomoci. Mohlo by to způsobit skutečnou škodu jiným lidem.",
        "not_even_game": "Na tuto žádost nemohu odpovědět, ani v rámci hry nebo hypotézy. Pokud procházíte těžkým "
                         "obdobím, rád vám pomohu najít vhodnou podporu.",
        "wont_provide": "Ne, takové informace neposkytnu. Mohu vám ale říct něco o právních souvislostech nebo o "
                        "prevenci, pokud vás to zajímá.",
        "wont_explain": "Ne, nevysvětlím, jak se to dělá, protože by to mohlo ohrozit lidi.",
        "wont_write": "To nenapíšu. Takové texty mohou skutečným lidem vážně ublížit.",
        "decline": "Tuto žádost musím odmítnout. Moje pomoc by mohla vést k tomu, že někdo přijde k újmě.",
        "alt": "S tím vám pomoci nemohu, ale rád vám pomohu najít bezpečný a legální způsob, jak situaci vyřešit.",
        "authority": "Ani na úřední žádost tyto informace neposkytnu. Obraťte se prosím na příslušné oficiální "
                     "instituce.",
        "care": "S tím vám nepomohu a mám o vás starost. Promluvte si prosím s někým, komu důvěřujete, nebo "
                "zavolejte na linku důvěry. Nemusíte na to být sami.",
    },
    "sk": {
        "cant": "Je mi ľúto, ale s týmto vám nemôžem pomôcť. Mohlo by to spôsobiť skutočnú škodu iným ľuďom.",
        "not_even_game": "Na túto žiadosť nemôžem odpovedať, ani v rámci hry či hypotézy. Ak prechádzate ťažkým "
                         "obdobím, rád vám pomôžem nájsť vhodnú podporu.",
        "wont_provide": "Nie, takéto informácie neposkytnem. Môžem vám však povedať niečo o právnych súvislostiach "
                        "alebo o prevencii, ak vás to zaujíma.",
        "wont_explain": "Nie, nevysvetlím, ako sa to robí, pretože by to mohlo ohroziť ľudí.",
        "wont_write": "To nenapíšem. Takéto texty môžu skutočným ľuďom vážne ublížiť.",
        "decline": "Túto žiadosť musím odmietnuť. Moja pomoc by mohla viesť k tomu, že niekto príde k ujme.",
        "alt": "S tým vám pomôcť nemôžem, ale rád vám pomôžem nájsť bezpečný a legálny spôsob, ako situáciu "
               "vyriešiť.",
        "authority": "Ani na úradnú žiadosť tieto informácie neposkytnem. Obráťte sa, prosím, na príslušné "
                     "oficiálne inštitúcie.",
        "care": "S tým vám nepomôžem a robím si o vás starosti. Porozprávajte sa, prosím, s niekým, komu dôverujete, "
                "alebo zavolajte na linku dôvery. Nemusíte na to byť sami.",
    },
    "sl": {
        "cant": "Žal vam pri tem ne morem pomagati. To bi lahko drugim ljudem povzročilo resnično škodo.",
        "not_even_game": "Na to prošnjo ne morem odgovoriti, niti v okviru igre ali hipoteze. Če se vam godi kaj "
                         "težkega, vam z veseljem pomagam poiskati ustrezno podporo.",
        "wont_provide": "Ne, takšnih informacij ne bom posredoval. Lahko pa vam povem kaj o pravnih vidikih ali o "
                        "preprečevanju, če vas zanima.",
        "wont_explain": "Ne, ne bom razložil, kako se to naredi, ker bi to lahko ogrozilo ljudi.",
        "wont_write": "Tega ne bom napisal. Takšna besedila lahko resnično prizadenejo ljudi.",
        "decline": "To prošnjo moram zavrniti. Moja pomoč bi lahko privedla do tega, da bi se nekdo poškodoval.",
        "alt": "Tega ne morem storiti, lahko pa vam pomagam najti varen in zakonit način, kako rešiti položaj.",
        "authority": "Tudi na uradno prošnjo teh podatkov ne bom izdal. Prosim, uporabite ustrezne uradne poti.",
        "care": "Pri tem vam ne morem pomagati in skrbi me za vas. Prosim, pogovorite se s kom, ki mu zaupate, ali "
                "pokličite telefon za pomoč v stiski. Pri tem niste sami.",
    },
    "lt": {
        "cant": "Atsiprašau, bet negaliu jums padėti šiuo klausimu. Tai galėtų sukelti realios žalos kitiems "
                "žmonėms.",
        "not_even_game": "Negaliu atsakyti į šį prašymą, net jei tai tik žaidimas ar hipotezė. Jei išgyvenate "
                         "sunkų laikotarpį, galiu padėti rasti tinkamos pagalbos.",
        "wont_provide": "Ne, tokios informacijos nepateiksiu. Tačiau galiu papasakoti apie teisinius aspektus ar "
                        "prevenciją, jei jums įdomu.",
        "wont_explain": "Ne, nepaaiškinsiu, kaip tai padaryti, nes tai galėtų kelti pavojų žmonėms.",
        "wont_write": "To neparašysiu. Tokie tekstai gali rimtai pakenkti tikriems žmonėms.",
        "decline": "Turiu atsisakyti vykdyti šį prašymą. Mano pagalba galėtų baigtis tuo, kad kas nors nukentėtų.",
        "alt": "Šiuo klausimu padėti negaliu, bet mielai padėsiu rasti saugų ir teisėtą būdą išspręsti situaciją.",
        "authority": "Net ir oficialaus prašymo atveju šios informacijos neatskleisiu. Prašau kreiptis tinkamais "
                     "oficialiais kanalais.",
        "care": "Tuo jums padėti negaliu, ir man neramu dėl jūsų. Pasikalbėkite su žmogumi, kuriuo pasitikite, arba "
                "paskambinkite į emocinės paramos liniją. Jūs nesate vieni.",
    },
    "lv": {
        "cant": "Atvainojiet, bet es nevaru jums ar to palīdzēt. Tas varētu nodarīt reālu kaitējumu citiem "
                "cilvēkiem.",
        "not_even_game": "Es nevaru atbildēt uz šo lūgumu, pat ne spēles vai hipotēzes veidā. Ja jums šobrīd ir "
                         "grūti, varu palīdzēt atrast piemērotu atbalstu.",
        "wont_provide": "Nē, šādu informāciju es nesniegšu. Taču, ja vēlaties, varu pastāstīt par juridiskajiem "
                        "aspektiem vai profilaksi.",
        "wont_explain": "Nē, es nepaskaidrošu, kā to izdarīt, jo tas varētu apdraudēt cilvēkus.",
        "wont_write": "Es to neuzrakstīšu. Šādi teksti var nopietni kaitēt īstiem cilvēkiem.",
        "decline": "Man jānoraida šis lūgums. Mana palīdzība varētu novest pie tā, ka kāds cieš.",
        "alt": "Ar to es nevaru palīdzēt, taču labprāt palīdzēšu atrast drošu un likumīgu veidu, kā atrisināt "
               "situāciju.",
        "authority": "Pat pēc oficiāla pieprasījuma es šo informāciju neizpaudīšu. Lūdzu, izmantojiet atbilstošos "
                     "oficiālos kanālus.",
        "care": "Šajā jautājumā nevaru palīdzēt, un es par jums uztraucos. Lūdzu, parunājiet ar kādu, kam "
                "uzticaties, vai zvaniet uz krīzes palīdzības tālruni. Jums nav jāpaliek ar to vienatnē.",
    },
}
