/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "mutation Register($input: RegisterInput!) {\n  register(input: $input) {\n    ...AuthPayloadFields\n  }\n}\n\nmutation Login($input: LoginInput!) {\n  login(input: $input) {\n    ...AuthPayloadFields\n  }\n}\n\nmutation RefreshSession($refreshToken: String!) {\n  refreshSession(refreshToken: $refreshToken) {\n    ...AuthPayloadFields\n  }\n}\n\nmutation Logout($refreshToken: String!) {\n  logout(refreshToken: $refreshToken)\n}\n\nmutation LogoutAllSessions {\n  logoutAllSessions\n}\n\nquery Sessions {\n  sessions {\n    id\n    current\n    userAgent\n    ip\n    createdAt\n    lastUsedAt\n    expiresAt\n  }\n}\n\nmutation RevokeSession($id: ID!) {\n  revokeSession(id: $id)\n}\n\nmutation VerifyEmail($token: String!) {\n  verifyEmail(token: $token) {\n    ...UserFields\n  }\n}\n\nmutation ResendVerificationEmail($email: String!) {\n  resendVerificationEmail(email: $email)\n}\n\nmutation ForgotPassword($email: String!) {\n  forgotPassword(email: $email)\n}\n\nmutation ResetPassword($input: ResetPasswordInput!) {\n  resetPassword(input: $input)\n}\n\nmutation ChangePassword($input: ChangePasswordInput!) {\n  changePassword(input: $input)\n}": typeof types.RegisterDocument,
    "query LlmProviders {\n  llmProviders {\n    llm\n    models\n    defaultModel\n  }\n}": typeof types.LlmProvidersDocument,
    "fragment UserFields on User {\n  id\n  email\n  firstName\n  lastName\n  emailVerified\n  metadata\n  createdAt\n  updatedAt\n}\n\nfragment AuthPayloadFields on AuthPayload {\n  accessToken\n  refreshToken\n  accessTokenExpiresAt\n  user {\n    ...UserFields\n  }\n}\n\nquery Me {\n  me {\n    ...UserFields\n  }\n}\n\nmutation UpdateProfile($input: UpdateProfileInput!) {\n  updateProfile(input: $input) {\n    ...UserFields\n  }\n}": typeof types.UserFieldsFragmentDoc,
};
const documents: Documents = {
    "mutation Register($input: RegisterInput!) {\n  register(input: $input) {\n    ...AuthPayloadFields\n  }\n}\n\nmutation Login($input: LoginInput!) {\n  login(input: $input) {\n    ...AuthPayloadFields\n  }\n}\n\nmutation RefreshSession($refreshToken: String!) {\n  refreshSession(refreshToken: $refreshToken) {\n    ...AuthPayloadFields\n  }\n}\n\nmutation Logout($refreshToken: String!) {\n  logout(refreshToken: $refreshToken)\n}\n\nmutation LogoutAllSessions {\n  logoutAllSessions\n}\n\nquery Sessions {\n  sessions {\n    id\n    current\n    userAgent\n    ip\n    createdAt\n    lastUsedAt\n    expiresAt\n  }\n}\n\nmutation RevokeSession($id: ID!) {\n  revokeSession(id: $id)\n}\n\nmutation VerifyEmail($token: String!) {\n  verifyEmail(token: $token) {\n    ...UserFields\n  }\n}\n\nmutation ResendVerificationEmail($email: String!) {\n  resendVerificationEmail(email: $email)\n}\n\nmutation ForgotPassword($email: String!) {\n  forgotPassword(email: $email)\n}\n\nmutation ResetPassword($input: ResetPasswordInput!) {\n  resetPassword(input: $input)\n}\n\nmutation ChangePassword($input: ChangePasswordInput!) {\n  changePassword(input: $input)\n}": types.RegisterDocument,
    "query LlmProviders {\n  llmProviders {\n    llm\n    models\n    defaultModel\n  }\n}": types.LlmProvidersDocument,
    "fragment UserFields on User {\n  id\n  email\n  firstName\n  lastName\n  emailVerified\n  metadata\n  createdAt\n  updatedAt\n}\n\nfragment AuthPayloadFields on AuthPayload {\n  accessToken\n  refreshToken\n  accessTokenExpiresAt\n  user {\n    ...UserFields\n  }\n}\n\nquery Me {\n  me {\n    ...UserFields\n  }\n}\n\nmutation UpdateProfile($input: UpdateProfileInput!) {\n  updateProfile(input: $input) {\n    ...UserFields\n  }\n}": types.UserFieldsFragmentDoc,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation Register($input: RegisterInput!) {\n  register(input: $input) {\n    ...AuthPayloadFields\n  }\n}\n\nmutation Login($input: LoginInput!) {\n  login(input: $input) {\n    ...AuthPayloadFields\n  }\n}\n\nmutation RefreshSession($refreshToken: String!) {\n  refreshSession(refreshToken: $refreshToken) {\n    ...AuthPayloadFields\n  }\n}\n\nmutation Logout($refreshToken: String!) {\n  logout(refreshToken: $refreshToken)\n}\n\nmutation LogoutAllSessions {\n  logoutAllSessions\n}\n\nquery Sessions {\n  sessions {\n    id\n    current\n    userAgent\n    ip\n    createdAt\n    lastUsedAt\n    expiresAt\n  }\n}\n\nmutation RevokeSession($id: ID!) {\n  revokeSession(id: $id)\n}\n\nmutation VerifyEmail($token: String!) {\n  verifyEmail(token: $token) {\n    ...UserFields\n  }\n}\n\nmutation ResendVerificationEmail($email: String!) {\n  resendVerificationEmail(email: $email)\n}\n\nmutation ForgotPassword($email: String!) {\n  forgotPassword(email: $email)\n}\n\nmutation ResetPassword($input: ResetPasswordInput!) {\n  resetPassword(input: $input)\n}\n\nmutation ChangePassword($input: ChangePasswordInput!) {\n  changePassword(input: $input)\n}"): (typeof documents)["mutation Register($input: RegisterInput!) {\n  register(input: $input) {\n    ...AuthPayloadFields\n  }\n}\n\nmutation Login($input: LoginInput!) {\n  login(input: $input) {\n    ...AuthPayloadFields\n  }\n}\n\nmutation RefreshSession($refreshToken: String!) {\n  refreshSession(refreshToken: $refreshToken) {\n    ...AuthPayloadFields\n  }\n}\n\nmutation Logout($refreshToken: String!) {\n  logout(refreshToken: $refreshToken)\n}\n\nmutation LogoutAllSessions {\n  logoutAllSessions\n}\n\nquery Sessions {\n  sessions {\n    id\n    current\n    userAgent\n    ip\n    createdAt\n    lastUsedAt\n    expiresAt\n  }\n}\n\nmutation RevokeSession($id: ID!) {\n  revokeSession(id: $id)\n}\n\nmutation VerifyEmail($token: String!) {\n  verifyEmail(token: $token) {\n    ...UserFields\n  }\n}\n\nmutation ResendVerificationEmail($email: String!) {\n  resendVerificationEmail(email: $email)\n}\n\nmutation ForgotPassword($email: String!) {\n  forgotPassword(email: $email)\n}\n\nmutation ResetPassword($input: ResetPasswordInput!) {\n  resetPassword(input: $input)\n}\n\nmutation ChangePassword($input: ChangePasswordInput!) {\n  changePassword(input: $input)\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query LlmProviders {\n  llmProviders {\n    llm\n    models\n    defaultModel\n  }\n}"): (typeof documents)["query LlmProviders {\n  llmProviders {\n    llm\n    models\n    defaultModel\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment UserFields on User {\n  id\n  email\n  firstName\n  lastName\n  emailVerified\n  metadata\n  createdAt\n  updatedAt\n}\n\nfragment AuthPayloadFields on AuthPayload {\n  accessToken\n  refreshToken\n  accessTokenExpiresAt\n  user {\n    ...UserFields\n  }\n}\n\nquery Me {\n  me {\n    ...UserFields\n  }\n}\n\nmutation UpdateProfile($input: UpdateProfileInput!) {\n  updateProfile(input: $input) {\n    ...UserFields\n  }\n}"): (typeof documents)["fragment UserFields on User {\n  id\n  email\n  firstName\n  lastName\n  emailVerified\n  metadata\n  createdAt\n  updatedAt\n}\n\nfragment AuthPayloadFields on AuthPayload {\n  accessToken\n  refreshToken\n  accessTokenExpiresAt\n  user {\n    ...UserFields\n  }\n}\n\nquery Me {\n  me {\n    ...UserFields\n  }\n}\n\nmutation UpdateProfile($input: UpdateProfileInput!) {\n  updateProfile(input: $input) {\n    ...UserFields\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;