import type { Catalogue } from '../../fulfillment';

/** Everything the commerce handlers say. Product, warehouse and carrier names stay as stored or sent. */
export const COMMERCE_MESSAGES = {
  askProduct: {
    en: 'Which product are you looking for?',
    de: 'Welches Produkt suchen Sie?',
    es: '¿Qué producto busca?',
    fr: 'Quel produit recherchez-vous ?',
  },
  productNotFound: {
    en: 'I couldn\'t find a product called "{reference}".',
    de: 'Ich habe kein Produkt namens „{reference}“ gefunden.',
    es: 'No he encontrado ningún producto llamado «{reference}».',
    fr: 'Je n’ai trouvé aucun produit nommé « {reference} ».',
  },
  outOfStockEverywhere: {
    en: '{product} ({sku}) is out of stock everywhere.',
    de: '{product} ({sku}) ist überall ausverkauft.',
    es: '{product} ({sku}) está agotado en todos los almacenes.',
    fr: '{product} ({sku}) est en rupture de stock partout.',
  },
  inStock: {
    en: '{product} ({sku}): {total} in stock — {where}.',
    de: '{product} ({sku}): {total} auf Lager — {where}.',
    es: '{product} ({sku}): {total} en stock — {where}.',
    fr: '{product} ({sku}) : {total} en stock — {where}.',
  },
  stockAt: {
    en: '{quantity} in {warehouse}',
    de: '{warehouse}: {quantity}',
    es: '{quantity} en {warehouse}',
    fr: '{warehouse} : {quantity}',
  },

  askCustomerNumber: {
    en: 'What is your customer number?',
    de: 'Wie lautet Ihre Kundennummer?',
    es: '¿Cuál es su número de cliente?',
    fr: 'Quel est votre numéro client ?',
  },
  askOrderNumber: {
    en: 'What is the order number?',
    de: 'Wie lautet die Bestellnummer?',
    es: '¿Cuál es el número de pedido?',
    fr: 'Quel est le numéro de commande ?',
  },
  orderNotFound: {
    en: "I couldn't find order {number} on your account.",
    de: 'Ich habe die Bestellung {number} in Ihrem Kundenkonto nicht gefunden.',
    es: 'No he encontrado el pedido {number} en su cuenta.',
    fr: 'Je n’ai pas trouvé la commande {number} sur votre compte.',
  },
  orderProcessing: {
    en: 'Order {number} is being prepared.',
    de: 'Die Bestellung {number} wird vorbereitet.',
    es: 'El pedido {number} se está preparando.',
    fr: 'La commande {number} est en préparation.',
  },
  orderShipped: {
    en: 'Order {number} has shipped.',
    de: 'Die Bestellung {number} wurde versandt.',
    es: 'El pedido {number} ha sido enviado.',
    fr: 'La commande {number} a été expédiée.',
  },
  orderDelivered: {
    en: 'Order {number} was delivered.',
    de: 'Die Bestellung {number} wurde zugestellt.',
    es: 'El pedido {number} fue entregado.',
    fr: 'La commande {number} a été livrée.',
  },
  orderCancelled: {
    en: 'Order {number} was cancelled.',
    de: 'Die Bestellung {number} wurde storniert.',
    es: 'El pedido {number} fue cancelado.',
    fr: 'La commande {number} a été annulée.',
  },
  orderOtherStatus: {
    en: 'Order {number} has the status “{status}”.',
    de: 'Die Bestellung {number} hat den Status „{status}“.',
    es: 'El pedido {number} tiene el estado «{status}».',
    fr: 'La commande {number} a le statut « {status} ».',
  },
  trackingNumber: {
    en: 'Tracking number: {tracking}.',
    de: 'Sendungsnummer: {tracking}.',
    es: 'Número de seguimiento: {tracking}.',
    fr: 'Numéro de suivi : {tracking}.',
  },

  askShippingProduct: {
    en: 'Which product should I check shipping for?',
    de: 'Für welches Produkt soll ich den Versand prüfen?',
    es: '¿Para qué producto compruebo el envío?',
    fr: 'Pour quel produit dois-je vérifier la livraison ?',
  },
  askPostcode: {
    en: 'What is the delivery postcode?',
    de: 'Wie lautet die Postleitzahl der Lieferadresse?',
    es: '¿Cuál es el código postal de entrega?',
    fr: 'Quel est le code postal de livraison ?',
  },
  askValidPostcode: {
    en: "Our shipping partner doesn't recognise the postcode {postcode}. What is the delivery postcode?",
    de: 'Unser Versandpartner kennt die Postleitzahl {postcode} nicht. Wie lautet die Postleitzahl der Lieferadresse?',
    es: 'Nuestro transportista no reconoce el código postal {postcode}. ¿Cuál es el código postal de entrega?',
    fr: 'Notre transporteur ne reconnaît pas le code postal {postcode}. Quel est le code postal de livraison ?',
  },
  cannotEstimateOutOfStock: {
    en: "{product} is out of stock, so I can't estimate shipping yet.",
    de: '{product} ist ausverkauft, daher kann ich die Lieferzeit noch nicht schätzen.',
    es: '{product} está agotado, así que todavía no puedo estimar el envío.',
    fr: '{product} est en rupture de stock, je ne peux donc pas encore estimer la livraison.',
  },
  carrierUnreachable: {
    en: "I can't reach our shipping partner right now. Please ask me again in a few minutes.",
    de: 'Ich erreiche unseren Versandpartner gerade nicht. Bitte fragen Sie mich in ein paar Minuten noch einmal.',
    es: 'Ahora mismo no puedo contactar con nuestro transportista. Vuelva a preguntarme dentro de unos minutos.',
    fr: 'Je ne parviens pas à joindre notre transporteur pour le moment. Veuillez me redemander dans quelques minutes.',
  },
  estimateOne: {
    en: '{product} ships from {warehouse} with {carrier} {service} and should arrive in {days} business day.',
    de: '{product} wird ab {warehouse} mit {carrier} {service} verschickt und sollte in {days} Werktag ankommen.',
    es: '{product} se envía desde {warehouse} con {carrier} {service} y debería llegar en {days} día hábil.',
    fr: '{product} est expédié depuis {warehouse} par {carrier} {service} et devrait arriver sous {days} jour ouvré.',
  },
  estimateOther: {
    en: '{product} ships from {warehouse} with {carrier} {service} and should arrive in {days} business days.',
    de: '{product} wird ab {warehouse} mit {carrier} {service} verschickt und sollte in {days} Werktagen ankommen.',
    es: '{product} se envía desde {warehouse} con {carrier} {service} y debería llegar en {days} días hábiles.',
    fr: '{product} est expédié depuis {warehouse} par {carrier} {service} et devrait arriver sous {days} jours ouvrés.',
  },
} as const satisfies Catalogue;
