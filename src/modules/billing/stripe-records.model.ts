import { modelOptions, prop, type ReturnModelType } from '@typegoose/typegoose';

/** A Stripe event applied (`_id` = its id): a replay finds it and is not applied again. */
@modelOptions({ schemaOptions: { collection: 'stripe_events', timestamps: true } })
export class StripeEventRecord {
  @prop({ type: () => String, required: true })
  _id!: string;

  @prop({ type: () => String, required: true })
  type!: string;
}

export type StripeEventModel = ReturnModelType<typeof StripeEventRecord>;

/** Whose a Stripe customer is (`_id` = the customer id): invoices name only the customer. */
@modelOptions({ schemaOptions: { collection: 'stripe_customers', timestamps: true } })
export class StripeCustomerRecord {
  @prop({ type: () => String, required: true })
  _id!: string;

  @prop({ type: () => String, required: true })
  userId!: string;
}

export type StripeCustomerModel = ReturnModelType<typeof StripeCustomerRecord>;
